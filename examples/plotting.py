"""Saving the examples' pictures with matplotlib, an optional extra (``pip install
'hograd[examples]'``): without it the examples still train and say how to get the picture."""
import pathlib

IMAGES = pathlib.Path(__file__).resolve().parents[1] / "docs" / "images"


def pyplot():
    """matplotlib's pyplot on a file-only backend, or None (with a hint) when it is missing."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib is not installed, so no picture is saved; "
              "install it with: pip install 'hograd[examples]'")
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(figure, name: str) -> pathlib.Path:
    IMAGES.mkdir(parents=True, exist_ok=True)
    path = IMAGES / name
    figure.savefig(path, dpi=72, bbox_inches="tight")
    print(f"picture saved to {path}")
    return path
