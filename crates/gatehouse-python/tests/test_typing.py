"""The type stubs are what the native module really has, and a user's typed code checks against them."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(*args: str, cwd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=cwd, check=False)


def test_stubs_match_the_native_module(tmp_path):
    """stubtest imports gatehouse._native and compares every class, method and signature with _native.pyi."""
    out = run("-m", "mypy.stubtest", "gatehouse._native", cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_package_is_marked_typed():
    import importlib.resources

    assert importlib.resources.files("gatehouse").joinpath("py.typed").is_file()


def test_typed_user_code_checks_and_mistakes_are_caught(tmp_path):
    good = tmp_path / "good.py"
    good.write_text(textwrap.dedent('''
        import gatehouse
        from gatehouse import Outcome

        policy: gatehouse.Policy = gatehouse.Policy.from_source("""
        policy "p" version "1"
        schema { action.type: enum { read, refund } }
        tier 0 "none" { outcome auto }
        default tier 0 because NO_RULE_MATCHED
        """)
        decision = policy.evaluate({"action": {"type": "read"}}, now="2026-11-22T09:00:00Z")
        worst: Outcome = max(decision.outcome, Outcome.QUEUE)
        codes: list[str] = decision.reason_codes
        tier_id: int | None = decision.tier.id if decision.tier else None
        digest: str | None = decision.action_digest
        many: list[gatehouse.Decision] = policy.evaluate_many(["{}", b"{}"])
        errors: list[gatehouse.Diagnostic] = gatehouse.check_source("policy")
    '''))
    out = run("-m", "mypy", "--strict", "--no-incremental", str(good), cwd=str(tmp_path))
    assert out.returncode == 0, out.stdout + out.stderr

    bad = tmp_path / "bad.py"
    bad.write_text(textwrap.dedent('''
        import gatehouse
        policy = gatehouse.Policy.load("p")
        d = policy.evaluate({"action": {}})
        n: int = d.reason_codes
        policy.evaluate({}, strict="yes")
    '''))
    out = run("-m", "mypy", "--strict", "--no-incremental", str(bad), cwd=str(tmp_path))
    assert out.returncode == 1
    assert 'Incompatible types in assignment (expression has type "list[str]", variable has type "int")' in out.stdout
    assert '"evaluate" of "Policy" has incompatible type "str"' in out.stdout
