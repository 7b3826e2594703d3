"""Motion as the generator sees it: joints <-> features (:mod:`.features`), their normalisation,
resampling in time, and stick-figure rendering (:mod:`.render`)."""
