"""A deliberately broken plugin: importing it fails, as a plugin with a missing dependency would.
hograd must record the failure, warn, and keep working."""
import a_dependency_that_is_not_installed  # noqa: F401
