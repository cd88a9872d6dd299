"""The core's default behaviour, registered as plugins; every hook here is ``trylast``."""
