"""Use cases: the only layer that combines models and the Dintero client.

Short database transactions with row locks; never a lock held across an HTTP call.
"""
