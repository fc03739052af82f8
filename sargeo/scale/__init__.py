"""Scale-out on Dask: `sargeo tile` and `sargeo index` over a cluster of worker processes.

`cluster` connects (a local cluster of N processes, or an existing scheduler) and keeps costly objects
once per worker process; `parts` splits work into partitions, each written as its own part, resumable;
`tile` and `index` are the two jobs. Another job (captioning) plugs in with a per-partition function
that writes a part and a merge of the parts (`parts.merge_gpkg` for GeoPackage layers).
"""
