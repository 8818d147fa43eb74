"""GPU-allocation policy: how many GPUs a search runs each interval, carbon-aware (docs/POLICY.md).

The operator uses `decide` and `runtime` (numpy only, checked by a test). Training (torch) and the
oracle (scipy) live in train_ppo.py, agent.py and oracle.py and are never imported at run time.
"""
