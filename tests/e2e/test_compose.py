"""Docker Compose (Debian's docker-compose 1.29, file format 2.4, which
takes a runtime per service) against the session's dockerd: a two-service
app whose web service writes a page into a shared volume and serves it,
and whose client, in the web service's network namespace (there is no
bridge), fetches it."""
import os
import shutil
import textwrap

import pytest

from . import engines as E

pytestmark = pytest.mark.e2e

COMPOSE_FILE = textwrap.dedent("""\
    version: "2.4"
    services:
      web:
        image: {image}
        runtime: {runtime}
        network_mode: none
        cgroup_parent: /{parent}
        volumes: ["site:/www"]
        # httpd as pid 1 has no SIGTERM handler: compose's stop would wait 10 s
        stop_signal: SIGKILL
        command: ["sh", "-c", "echo hello from the web service > /www/index.html &&
                  exec httpd -f -p 127.0.0.1:8080 -h /www"]
      client:
        image: {image}
        runtime: {runtime}
        network_mode: "service:web"
        depends_on: [web]
        volumes: ["site:/www:ro"]
        command: ["sh", "-c", "for i in $$(seq 100); do
                  wget -q -O - http://127.0.0.1:8080/ && exit 0; sleep 0.1; done; exit 1"]
    volumes:
      site: {{}}
    """)


@pytest.fixture
def compose(docker_engine, request):
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip("docker-compose not found (%s)" % "apt-get install docker-compose")
    E.trace(request, docker_engine)
    project = "e2e%s" % docker_engine.s.tag
    path = os.path.join(docker_engine.dir, "compose-%s.yml" % project)
    with open(path, "w") as f:
        f.write(COMPOSE_FILE.format(image=E.IMAGE, runtime=docker_engine.runtime_name,
                                    parent=docker_engine.parent))

    def compose(*args, timeout=120):
        return E.run([binary, "--ansi", "never", "-f", path, "-p", project] + list(args),
                     env=docker_engine.env, timeout=timeout)

    yield compose
    compose("down", "--volumes", "--remove-orphans")


def test_compose_app_comes_up_and_answers(compose, docker_engine):
    host = docker_engine.host()
    before = host.snapshot()
    up = compose("up", "--exit-code-from", "client")
    assert up.rc == 0, str(up)
    assert "hello from the web service" in up.out, str(up)
    down = compose("down", "--volumes", "--remove-orphans")
    assert down.rc == 0, str(down)
    left = host.wait_clean(before, timeout=20)
    assert not left, "left behind by the compose app:\n%s" % left
