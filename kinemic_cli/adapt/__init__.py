"""KineMIC few-shot adaptation and its baselines: options (:mod:`.config`), data, soft-positive mining,
window mining, losses, the student (what is trained and saved) and the run (:mod:`.run`)."""
