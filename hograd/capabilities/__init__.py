"""The capability matrix: which op differentiates to which order on which device, found by
running checks (``spec`` says what to run, ``checker`` runs it, ``report`` renders it)."""
