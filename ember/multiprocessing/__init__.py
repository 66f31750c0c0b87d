"""ember.multiprocessing: spawn(fn, args, nprocs) for distributed training (being built)."""
