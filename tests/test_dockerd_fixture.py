def test_it_starts_a_private_engine(dockerd):
    out = dockerd.docker("info", "--format", "{{.DockerRootDir}}").stdout.decode().strip()
    assert out.startswith(str(dockerd.workdir))
