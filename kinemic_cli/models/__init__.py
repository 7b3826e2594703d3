"""Neural network modules: the denoiser, the MIC module, LoRA adapters, the ST-GCN."""
