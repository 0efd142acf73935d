from node.chain.registry import Registry
from tests.conftest import authorised_programme, ref


def test_smoke(registry: Registry) -> None:
    pid = authorised_programme(registry, issue=100, owners=(10, 11))
    print(registry.view("blocksOf", pid, 10), registry.view("blocksOf", pid, 11))
    r = registry.transfer(pid, 10, 12, 30, ref())
    print(r["gasUsed"], registry.events(r, "CreditsTransferred"))
    print(registry.view("getProgramme", pid))
