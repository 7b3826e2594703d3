"""Generation: the plan (which clips, seeds, lengths), the diffusion sampler of one batch, the run into the
store, and the judge filter that keeps the clips a few-shot recogniser recognises."""
