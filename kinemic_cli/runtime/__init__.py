"""What every long-running command shares, and nothing pipeline-specific: devices and process groups,
torchrun launching, checkpoints, atomic writes, run folders, config files, provenance, progress bars,
metrics logs, training randomness and the training loop skeleton.  It imports no pipeline."""
