"""Action recognition: what the recogniser sees (:mod:`.data`), its training sets (:mod:`.sets`), geometric
augmentation, one training run (:mod:`.train`) and the multi-seed run behind ``train-har`` (:mod:`.run`)."""
