"""The execution engine: where per-file work runs (DESIGN.md, turn 2).

De-identification, dataset hashing and inference hand their per-item work to one small
interface, `qms.compute.engine.Engine`: `LocalEngine` runs it in this process or a local
pool (the default, needing nothing more), `RayEngine` on a Ray cluster (the `ray` extra).
`qms.compute.settings` reads `[tool.qms.compute]` and opens the configured one. This
package imports no domain area: the areas import it.
"""

__all__: list[str] = []
