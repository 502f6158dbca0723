"""Device plugins shipped with hograd: ``cpu`` (numpy, the default), ``gpu`` and ``ascend``."""
