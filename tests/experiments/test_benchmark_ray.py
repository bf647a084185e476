"""``clip-fer benchmark --engine ray``: the same table as the local engine, embeddings as Parquet."""

import pytest

pytest.importorskip("ray")
pytest.importorskip("ray.data")
pytest.importorskip("pyarrow")
pd = pytest.importorskip("pandas")

from conftest import local_ray_cluster  # noqa: E402
from test_benchmark import benchmark_args, replicas, run  # noqa: E402, F401 (replicas: a fixture)

pytestmark = pytest.mark.slow  # a Ray cluster and its actors start


@pytest.fixture(scope="module")
def cluster():
    yield from local_ray_cluster()


def test_ray_engine_gives_the_local_table(cluster, replicas, toy_checkpoint, tmp_path, capsys):  # noqa: F811
    local, remote = tmp_path / "local", tmp_path / "ray"
    assert run(capsys, *benchmark_args(replicas, toy_checkpoint, local))[0] == 0
    code, _, err = run(capsys, *benchmark_args(replicas, toy_checkpoint, remote, "--engine", "ray"))
    assert code == 0, err
    shards = sorted((remote / "embeddings").glob("*/*.parquet/*.parquet"))
    assert len(shards) == 2  # one per data set (one model)
    pd.testing.assert_frame_equal(
        pd.read_csv(remote / "results.csv"), pd.read_csv(local / "results.csv"), rtol=1e-5
    )
