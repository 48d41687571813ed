"""The gate's checks, one module per criterion of DESIGN.md's release gate."""
