"""An AI testing agent's session with `atdm mcp`, through the official MCP Python SDK.

The SDK (``mcp`` on PyPI, pinned in requirements-dev.txt) starts the server as a subprocess
and speaks MCP over its stdin and stdout, as any agent host does. The script knows nothing
but the server's tool list: it finds a scenario by intent, validates requests, requests data,
makes the bad calls an agent makes, reads the audit trail and resets. Every check raises on
failure; at the end it prints one JSON summary line that atdm-cli/tests/mcp.rs asserts on.

    python mcp_client.py ATDM_BINARY MODE [ATDM GLOBAL OPTIONS...]

MODE is ``flow`` (the default tools, initialize handshake), ``modern`` (a session that starts
with server/discover and sends its client info with every request) or ``guarded`` (a server
started with --allow-reset-all and --allow-restore).
"""

import json
import sys

import anyio
from mcp import ClientSession, MCPError, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.types import Implementation

CLIENT = Implementation(name="atdm-test-agent", version="1.2.3")
INVOKER = "mcp:atdm-test-agent/1.2.3"
DEFAULT_TOOLS = [
    "audit_lookup",
    "describe_scenario",
    "find_scenarios",
    "list_scenarios",
    "request_scenario",
    "reset_run",
    "validate_request",
]
GUARDED_TOOLS = ["reset_all", "restore_baseline"]
# No argument of any tool may let an agent write SQL, name a table to write, or pass rows.
FORBIDDEN_WORDS = ("sql", "query", "table", "row", "column", "statement")
INTENT = "an active member whose claim was denied, from an out-of-network provider"


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def text_of(result):
    return " ".join(c.text for c in result.content if getattr(c, "type", None) == "text")



def called(trail):
    """The trail's events, each with the calls it points at (`tool_calls`, positions in the
    trail's own list) written out as `tools_called`."""
    return [dict(e, tools_called=[trail["tool_calls"][i] for i in e["tool_calls"]])
            for e in trail["events"]]

async def ok(session, tool, arguments):
    """Calls a tool that must succeed; returns its structured content."""
    result = await session.call_tool(tool, arguments)
    check(not result.is_error, f"{tool}({arguments}) failed: {text_of(result)}")
    body = result.structured_content
    check(isinstance(body, dict), f"{tool}: no structured content")
    # The same result as text, for clients that ignore structured content.
    check(json.loads(text_of(result)) == body, f"{tool}: text and structured content differ")
    return body


async def tool_error(session, tool, arguments, code):
    """Calls a tool that must fail with `code`; returns the structured error."""
    result = await session.call_tool(tool, arguments)
    check(result.is_error, f"{tool}({arguments}) should fail with {code}: {text_of(result)}")
    text = text_of(result)
    check(text.startswith(code + ": "), f"{tool}: error text {text!r} does not start with {code}")
    error = (result.structured_content or {}).get("error")
    check(isinstance(error, dict), f"{tool}: no structured error: {result}")
    check(error["code"] == code, f"{tool}: {error}")
    check(error["message"] and error["message"] in text, f"{tool}: {error}")
    return error


async def protocol_error(session, tool, arguments):
    """Calls a tool that must be refused with a JSON-RPC error; returns it."""
    try:
        result = await session.call_tool(tool, arguments)
    except MCPError as e:
        return e
    raise AssertionError(f"{tool} should be a protocol error, got {result}")


async def still_serving(session, summary):
    body = await ok(session, "list_scenarios", {})
    check(len(body["scenarios"]) >= 5, body)
    summary["served_after_errors"] += 1


async def tools_of(session):
    tools = (await session.list_tools()).tools
    for t in tools:
        props = t.input_schema.get("properties", {})
        for name in props:
            for word in FORBIDDEN_WORDS:
                check(word not in name.lower(), f"{t.name} takes {name}")
        check(t.input_schema.get("type") == "object", t.name)
        check(t.input_schema.get("additionalProperties") is False, f"{t.name} accepts any argument")
        check(t.output_schema is not None, f"{t.name} has no output schema")
        check(t.description and len(t.description) > 40, f"{t.name} is not described")
    return sorted(t.name for t in tools)


async def flow(session, summary):
    init = await session.initialize()
    check(init.server_info.name == "atdm", init.server_info)
    check("find_scenarios" in (init.instructions or ""), "the instructions name the workflow")
    summary["protocol_version"] = init.protocol_version

    names = await tools_of(session)
    check(names == DEFAULT_TOOLS, names)
    summary["tools"] = names

    # 1. Find the scenario by intent, and learn its knobs.
    found = await ok(session, "find_scenarios", {"intent": INTENT})
    scenario = found["matches"][0]["id"]
    check(scenario == "claim_denial_active_member", found)
    summary["found"] = scenario
    described = await ok(session, "describe_scenario", {"scenario": scenario})
    knobs = {k["name"]: k for k in described["knobs"]}
    check("provider_network" in knobs, knobs)
    check("in_network" in knobs["provider_network"]["values"], knobs["provider_network"])

    # 2. Validate without writing: the rows a request would seed ...
    plan = await ok(
        session,
        "validate_request",
        {"scenario": scenario, "constraints": {"provider_network": "in_network"}},
    )
    check(plan["valid"] is True and plan["error"] is None, plan)
    check(plan["rows"]["member"] == 1 and plan["rows"]["claim"] == 1, plan["rows"])
    tables = {t["table"]: t["rows"] for t in plan["tables"]}
    check(tables["provider"][0]["network_status"] == "in_network", tables["provider"])
    check(tables["claim"][0]["status"] == "denied", tables["claim"])
    check(plan["reference_date"] == "2026-06-01", plan)
    summary["dry_run"] = plan["run_id"]
    # ... and the validator failures of one that would be refused: a normal result.
    refused = await ok(
        session,
        "validate_request",
        {"scenario": "active_member_clean", "constraints": {"member_status": "inactive"}},
    )
    check(refused["valid"] is False, refused)
    check(refused["error"]["code"] == "VALIDATOR_REJECTED", refused)
    check(refused["failures"][0]["validator"].endswith("eligibility_status_matches_member"), refused)
    check(refused["tables"] == [], refused)
    summary["refused_validator"] = refused["failures"][0]["validator"]
    bad_knob = await ok(
        session, "validate_request", {"scenario": scenario, "constraints": {"claim_status": "lost"}}
    )
    check(bad_knob["valid"] is False and bad_knob["error"]["code"] == "INVALID_CONSTRAINT", bad_knob)

    # A scenario that does not exist: an error with the library's code; the next call works.
    error = await tool_error(session, "describe_scenario", {"scenario": "claim_denial"}, "SCENARIO_NOT_FOUND")
    check("claim_denial_active_member" in error["message"], error)
    await still_serving(session, summary)

    # 3. Request the data.
    seeded = await ok(
        session,
        "request_scenario",
        {"scenario": scenario, "constraints": {"provider_network": "in_network"}},
    )
    run_id, token = seeded["run_id"], seeded["token"]
    check(seeded["status"] == "ready", seeded)
    check(seeded["data"]["member_id"] == "m-" + run_id, seeded["data"])
    check(len(token) == 43, "256-bit token")
    check(run_id in seeded["audit_location"], seeded["audit_location"])
    summary.update(
        run_id=run_id,
        token=token,
        member_id=seeded["data"]["member_id"],
        rows=seeded["rows"],
        audit_location=seeded["audit_location"],
    )

    # 4. Bad calls: each an error with a code, and the server keeps serving.
    await tool_error(
        session, "request_scenario", {"scenario": scenario, "constraints": {"claim_status": "lost"}},
        "INVALID_CONSTRAINT",
    )
    await still_serving(session, summary)
    rejected = await tool_error(
        session, "request_scenario",
        {"scenario": "active_member_clean", "constraints": {"member_status": "inactive"}},
        "VALIDATOR_REJECTED",
    )
    check(rejected["run_id"] and rejected["failures"], rejected)
    await still_serving(session, summary)
    mismatch = await tool_error(
        session, "reset_run", {"run_id": run_id, "token": "not-the-token"}, "TOKEN_MISMATCH"
    )
    check(mismatch["run_id"] == run_id, mismatch)
    await still_serving(session, summary)
    await tool_error(session, "reset_run", {"run_id": "01AAAAAAAAAAAAAAAAAAAAAAAA", "token": token}, "RUN_NOT_FOUND")
    await still_serving(session, summary)
    codes = {}
    for tool in ("drop_table", "reset_all", "restore_baseline"):
        e = await protocol_error(session, tool, {"confirm": True})
        check(e.code == -32602, (tool, e.code, e.message))
        check(e.message.startswith("UNKNOWN_TOOL: "), e.message)
        check(e.data["code"] == "UNKNOWN_TOOL" and e.data["tools"] == DEFAULT_TOOLS, e.data)
        codes[tool] = e.data["code"]
        await still_serving(session, summary)
    for arguments in (
        {"scenario": 42},
        {"scenario": scenario, "sql": "DELETE FROM member"},
        {"scenario": scenario, "constraints": {"member_status": ["active"]}},
        {"scenario": scenario, "reference_date": "June 1st"},
    ):
        e = await tool_error(session, "request_scenario", arguments, "INVALID_ARGUMENTS")
        codes[json.dumps(arguments, sort_keys=True)] = e["code"]
        await still_serving(session, summary)
    await tool_error(session, "reset_run", {"run_id": run_id}, "INVALID_ARGUMENTS")
    await tool_error(session, "find_scenarios", {"intent": "claims", "limit": 0}, "INVALID_ARGUMENTS")
    await still_serving(session, summary)
    summary["error_codes"] = codes

    # 5. Read the audit trail, then reset with the right token.
    trail = await ok(session, "audit_lookup", {"run_id": run_id})
    check(trail["run_id"] == run_id and trail["location"] == seeded["audit_location"], trail)
    reset = await ok(session, "reset_run", {"run_id": run_id, "token": token})
    check(reset["status"] == "cleaned" and reset["deleted"]["member"] == 1, reset)
    again = await ok(session, "reset_run", {"run_id": run_id, "token": token})
    check(again["status"] == "already_cleaned", again)
    summary["deleted"] = reset["deleted"]

    # Every step is in the trail: every event names this client and the one tool call that
    # led to it, and no event holds the token.
    trail = await ok(session, "audit_lookup", {"run_id": run_id})
    events = called(trail)
    # Each call is said once: the request's events all point at one call.
    check(len(trail["tool_calls"]) < len(events), trail["tool_calls"])
    actions = [e["action"] for e in events]
    for e in events:
        check(e["invoker"] == INVOKER, e)
        calls = e["tools_called"]
        check(len(calls) == 1 and calls[0]["tool"] in ("request_scenario", "reset_run"), e)
        check(calls[0]["session"].startswith("mcp-session-"), e)
        check(token not in json.dumps(e), f"event {e['action']} holds the token")
    first = events[0]
    check(first["action"] == "request_received", actions)
    check(first["tools_called"][0]["arguments"]["constraints"] == {"provider_network": "in_network"}, first)
    wrong = next(e for e in events if e["action"] == "reset_rejected")
    check(wrong["tools_called"][-1]["arguments"]["token"] == "<redacted>", wrong)
    cleaned = next(e for e in events if e["action"] == "reset_completed")
    check(cleaned["tools_called"][-1]["arguments"]["token"] == "<redacted>", cleaned)
    summary["actions"] = actions

    # The calls that act on no run are in the session's own trail, in order, with the
    # error code of those that failed.
    session_id = first["tools_called"][0]["session"]
    calls = called(await ok(session, "audit_lookup", {"run_id": session_id}))
    check(all(e["action"] == "tool_called" and e["invoker"] == INVOKER for e in calls), calls)
    steps = [(e["tools_called"][0]["tool"], (e["outputs"].get("error") or {}).get("code")) for e in calls]
    for step in (("describe_scenario", "SCENARIO_NOT_FOUND"), ("drop_table", "UNKNOWN_TOOL"),
                 ("reset_all", "UNKNOWN_TOOL"), ("request_scenario", "INVALID_ARGUMENTS"),
                 ("find_scenarios", None), ("list_scenarios", None), ("audit_lookup", None),
                 ("reset_run", "RUN_NOT_FOUND")):
        check(step in steps, (step, steps))
    check(token not in json.dumps(calls), "a session event holds the token")

    # The dry run is audited too, under its own run.
    dry = await ok(session, "audit_lookup", {"run_id": summary["dry_run"]})
    dry["events"] = called(dry)
    check(dry["events"][0]["inputs"]["dry_run"] is True, dry["events"][0])
    check([c["tool"] for c in dry["events"][0]["tools_called"]] == ["validate_request"],
          dry["events"][0]["tools_called"])
    check(all(e["invoker"] == INVOKER for e in dry["events"]), dry)
    check("seed_started" not in [e["action"] for e in dry["events"]], dry)


async def modern(session, summary):
    """A session without the initialize handshake: the client sends its info with every request."""
    await session.discover()
    summary["protocol_version"] = session.protocol_version
    names = await tools_of(session)
    check(names == DEFAULT_TOOLS, names)
    seeded = await ok(session, "request_scenario", {"scenario": "active_member_clean"})
    run_id, token = seeded["run_id"], seeded["token"]
    await ok(session, "reset_run", {"run_id": run_id, "token": token})
    trail = await ok(session, "audit_lookup", {"run_id": run_id})
    invokers = sorted({e["invoker"] for e in trail["events"]})
    check(invokers == [INVOKER], invokers)
    summary.update(run_id=run_id, token=token, invokers=invokers, tools=names)


async def guarded(session, summary):
    await session.initialize()
    names = await tools_of(session)
    check(names == sorted(DEFAULT_TOOLS + GUARDED_TOOLS), names)
    summary["tools"] = names
    seeded = await ok(session, "request_scenario", {"scenario": "out_of_network_pending_claim"})
    summary.update(run_id=seeded["run_id"], token=seeded["token"])
    await tool_error(session, "reset_all", {"confirm": False}, "CONFIRM_REQUIRED")
    await tool_error(session, "reset_all", {}, "INVALID_ARGUMENTS")
    done = await ok(session, "reset_all", {"confirm": True})
    check(seeded["run_id"] in done["runs"] and done["deleted"]["claim"] >= 1, done)
    summary["reset_all_runs"] = done["runs"]
    await tool_error(session, "restore_baseline", {}, "NO_BASELINE")
    await still_serving(session, summary)
    trail = await ok(session, "audit_lookup", {"run_id": seeded["run_id"]})
    last = called(trail)[-1]
    check(last["action"] == "reset_completed" and last["inputs"]["strategy"] == "reset_all", last)
    call = dict(last["tools_called"][-1])
    call.pop("session")
    check(call == {"tool": "reset_all", "arguments": {"confirm": True}}, last)
    check(last["invoker"] == INVOKER, last)


async def main():
    binary, mode, *options = sys.argv[1:]
    args = list(options) + ["mcp"]
    if mode == "guarded":
        args += ["--allow-reset-all", "--allow-restore"]
    server = StdioServerParameters(command=binary, args=args)
    summary = {"mode": mode, "served_after_errors": 0}
    with anyio.fail_after(180):
        async with stdio_client(server) as (read, write):
            async with ClientSession(read, write, client_info=CLIENT) as session:
                await {"flow": flow, "modern": modern, "guarded": guarded}[mode](session, summary)
    print(json.dumps(summary, sort_keys=True))


if __name__ == "__main__":
    anyio.run(main)
