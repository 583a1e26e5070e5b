"""The layer's botocore keeps the data of the services the code uses only
(scripts/prune-botocore-data): clients of those still build and resolve their regional
endpoints from the pruned data alone; the list is the one the code builds clients from."""

from __future__ import annotations

import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import botocore
import botocore.loaders
import botocore.session
import pytest
from botocore.exceptions import UnknownServiceError

from devstack.template import REPO_ROOT
from esms_calls.storage import aws

pytestmark = pytest.mark.unit

SERVICES_FILE = REPO_ROOT / "layers/shared/aws-services"
PRUNE_SCRIPT = REPO_ROOT / "scripts/prune-botocore-data"


def test_the_layer_keeps_the_services_the_code_builds_clients_of() -> None:
    # The list as the layer build reads it, with the build script's own reader
    services_in = runpy.run_path(str(PRUNE_SCRIPT))["services_in"]
    assert services_in(SERVICES_FILE) == aws.SERVICES
    with pytest.raises(ValueError, match="s3 is not in SERVICES"):
        aws.client("s3")


def test_pruned_data_still_builds_every_client_and_no_other(tmp_path: Path) -> None:
    # Given a copy of botocore's data: the top-level files, the services used and two others
    source = Path(botocore.__file__).parent / "data"
    data = tmp_path / "data"
    data.mkdir()
    for path in source.iterdir():
        if path.is_file():
            shutil.copy(path, data)
        elif path.name in aws.SERVICES | {"s3", "lambda"}:
            shutil.copytree(path, data / path.name)
    # When the layer build's script prunes it
    subprocess.run(
        [sys.executable, str(PRUNE_SCRIPT), str(data), SERVICES_FILE],
        check=True,
    )
    # Then only the services used are left, and endpoints.json is a fraction of its size
    assert {p.name for p in data.iterdir() if p.is_dir()} == aws.SERVICES
    assert (data / "endpoints.json").stat().st_size < (
        source / "endpoints.json"
    ).stat().st_size / 10
    # And a botocore session reading nothing else builds each client, on its regional endpoint
    session = botocore.session.get_session()
    session.register_component(
        "data_loader",
        botocore.loaders.Loader(extra_search_paths=[str(data)], include_default_search_paths=False),
    )
    for service in sorted(aws.SERVICES):
        client = session.create_client(
            service,
            region_name="ap-southeast-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        assert client.meta.endpoint_url.endswith(".ap-southeast-1.amazonaws.com"), service
    with pytest.raises(UnknownServiceError):
        session.create_client("s3", region_name="ap-southeast-1")
