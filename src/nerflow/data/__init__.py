"""The data layer: fetching (sources), raw files (rawfiles, textfiles, tables), splits and counts (splits), the
stored splits of the stages (store), atomic writes and sha256 (files)."""
