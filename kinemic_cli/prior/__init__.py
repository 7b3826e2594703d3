"""The text-to-motion prior: the object (:mod:`.bundle`), its diffusion schedule and samplers, pretraining and
its data, the weight average, and the MDM checkpoint importer."""
