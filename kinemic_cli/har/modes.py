"""The training sets a recogniser can be trained on (``train-har --train``).

- ``real``: the few shots of each class;
- ``synth``: generated clips only;
- ``mixed``: the shots plus generated clips;
- ``gt``: every labelled training clip of the chosen classes (the upper bound);
- ``augment``: the shots plus geometric copies of them (the no-generator baseline).

Kept apart from :mod:`.sets` (and free of numpy) so the CLI can list them in its help cheaply.
"""

TRAIN_MODES = ("real", "synth", "mixed", "gt", "augment")
#: the modes whose training clips include the few shots (and so depend on --shots / --fewshot-seed)
FEWSHOT_MODES = ("real", "synth", "mixed", "augment")
