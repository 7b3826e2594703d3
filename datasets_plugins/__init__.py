"""Dataset adapters shipped with kinemic, registered through the same entry points as third-party ones."""
