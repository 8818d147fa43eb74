import asyncio

from cenas_operator.search_handler import trials_by_search


def test_the_trial_index_keys_trials_by_their_search():
    body = {"metadata": {"name": "t", "labels": {"cenas.dev/search": "s"}}, "spec": {"role": "FullTraining"}}
    assert asyncio.run(trials_by_search(namespace="ns", labels=body["metadata"]["labels"], body=body)) == {
        ("ns", "s"): body}
    assert asyncio.run(trials_by_search(namespace="ns", labels={}, body=body)) == {}
