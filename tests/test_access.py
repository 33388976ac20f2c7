"""Sign-in, roles and the village scope, through the real app (AppTest), the metrics
layer, exports and the CLI.

A 村居书记 of CJ03 (营房村) tries every route to another village: the URL, the
filters, page parameters, the metrics functions, the CLI and exports. Each attempt is
either denied or narrowed to CJ03.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import date

import polars as pl
import pytest
from streamlit.testing.v1.errors import AppTestError

import metrics
from auth.roles import ADMIN, LEADER, OFFICE, SECRETARY, User
from auth.store import UserStore
from metrics import Filter
from metrics import scope as metric_scope
from metrics.assessment import assessment
from metrics.coverage import coverage_summary
from metrics.drilldown_rows import attendance_rows, report_rows
from metrics.overview import kpis, town_summary
from metrics.registry import villages
from metrics.scope import ScopeDenied, restricted_to
from store import audit
from store.database import connect
from store.paths import REPO_ROOT
from tests.support.page_runs import DASHBOARD, run_page, secretary, sign_in, texts
from ui.auth_gate import sign_in_throttle
from ui.navigation import PAGES

OWN, OTHER = "CJ03", "CJ05"
RANGE = Filter(date(2026, 5, 1), date(2026, 10, 1))
PASSWORD = "correct-horse-1"


@pytest.fixture(scope="module")
def db(sample_db, tmp_path_factory):
    """A copy of the sample: sign-ins and exports write audit entries."""
    path = tmp_path_factory.mktemp("access") / "grid.duckdb"
    shutil.copy(sample_db, path)
    return path


@pytest.fixture(scope="module")
def users_file(tmp_path_factory):
    store = UserStore.load(tmp_path_factory.mktemp("users") / "users.toml")
    store.set_user("t_leader", PASSWORD, LEADER, display_name="测试领导")
    store.set_user("t_cj03", PASSWORD, SECRETARY, village_id=OWN, display_name="测试书记")
    store.set_user("t_admin", PASSWORD, ADMIN, display_name="测试管理员")
    # Sessions follow the users file: every user a test signs in must exist in it.
    sec = secretary(OWN)
    store.set_user(sec.username, PASSWORD, SECRETARY, OWN, sec.display_name)
    store.set_user("l", PASSWORD, LEADER, display_name="领导")
    store.set_user("o", PASSWORD, OFFICE, display_name="办")
    return store.path


@pytest.fixture
def app_env(db, users_file, monkeypatch):
    monkeypatch.setenv("GRID_DB", str(db))
    monkeypatch.setenv("GRID_USERS", str(users_file))
    sign_in_throttle.clear()  # one throttle per server process: start each test unthrottled
    yield db
    sign_in_throttle.clear()


def audit_actions(db) -> list[tuple[str, str]]:
    from ui.db import _connection  # the app's own connection (one writer per process)

    frame = audit.entries(_connection(str(db)).cursor(), limit=50)
    return list(zip(frame["用户"].to_list(), frame["操作"].to_list(), strict=True))


def submit_sign_in(at, username: str, password: str):
    at.text_input(key="sign_in_user").input(username)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click()
    return at.run()


def metric_values(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


# ------------------------------------------------------------------ sign-in


def test_nothing_but_the_sign_in_form_before_sign_in(app_env):
    at = run_page(app_env, user=None)
    assert not at.exception
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert at.metric.len == 0 and at.dataframe.len == 0
    assert "登录" in texts(at)


def test_wrong_password_is_refused_and_audited_right_one_signs_in(app_env):
    at = run_page(app_env, user=None)
    submit_sign_in(at, "t_leader", "wrong-password")
    assert "用户名或密码不正确" in texts(at)
    assert at.metric.len == 0
    submit_sign_in(at, "t_leader", PASSWORD)
    assert not at.exception
    assert metric_values(at)["党建子网格"] == "89"
    assert "测试领导" in texts(at)
    actions = audit_actions(app_env)
    assert ("t_leader", "登录") in actions and ("t_leader", "登录失败") in actions


def test_repeated_failures_are_slowed_down(app_env):
    at = run_page(app_env, user=None)
    for _ in range(3):  # the throttle's free attempts
        submit_sign_in(at, "t_leader", "guess")
        assert "用户名或密码不正确" in texts(at)
    submit_sign_in(at, "t_leader", "guess")
    # Now even the right password must wait.
    submit_sign_in(at, "t_leader", PASSWORD)
    assert "尝试次数过多" in texts(at)
    assert at.metric.len == 0


def test_an_idle_session_expires(app_env):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(DASHBOARD, default_timeout=90)
    sign_in(at, User("t_leader", "测试领导", LEADER))
    at.session_state["auth_seen"] = time.time() - 31 * 60  # idle limit: 30 minutes
    at.run()
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert "会话已过期" in texts(at)


def test_sign_out(app_env):
    at = run_page(app_env, user=User("t_leader", "测试领导", LEADER))
    at.button(key="sign_out").click().run()
    assert [t.label for t in at.text_input] == ["用户名", "密码"]
    assert ("t_leader", "退出") in audit_actions(app_env)


# ------------------------------------------------------------------ roles


def switchable(at, page: str) -> bool:
    """Whether the navigation offers ``app_pages/<page>.py`` to this session."""
    try:
        at.switch_page(f"app_pages/{page}.py")
    except ValueError:  # AppTest: "Could not find a navigation page"
        return False
    return True


@pytest.mark.parametrize(
    ("role", "village", "expected"),
    [
        (LEADER, None, {p.key for p in PAGES} - {"upload"}),
        (SECRETARY, OWN, {p.key for p in PAGES} - {"upload"}),
        (OFFICE, None, {p.key for p in PAGES}),
        (ADMIN, None, {"admin"}),
    ],
)
def test_navigation_offers_the_pages_of_the_role(app_env, users_file, role, village, expected):
    user = User("t_user", "测试", role, village)
    UserStore.load(users_file).set_user(user.username, PASSWORD, role, village, "测试")
    at = run_page(app_env, user=user)
    assert not at.exception
    candidates = {p.key for p in PAGES} | {"admin"}
    offered = {key for key in candidates if switchable(at, key)}
    assert offered == expected


def test_admin_sees_the_audit_log_and_no_data(app_env):
    at = run_page(app_env, user=User("t_admin", "测试管理员", ADMIN))
    assert not at.exception
    assert "用户与审计" in texts(at)
    assert at.metric.len == 0
    assert "起始月份" not in [s.label for s in at.selectbox]


# ------------------------------------------------------------------ village scope: app


def test_secretary_sees_only_own_village_whatever_the_url_asks(app_env):
    # A leader first: the town-wide numbers are then in the shared cache.
    leader = run_page(app_env, user=User("t_leader", "测试领导", LEADER))
    assert metric_values(leader)["党建子网格"] == "89"

    at = run_page(app_env, user=secretary(OWN), params={"village": OTHER})
    assert not at.exception
    assert "当前账号只能查看本村居" in texts(at)
    village_box = next(s for s in at.selectbox if s.label == "村居")
    assert village_box.options == ["营房村"] and village_box.disabled
    assert at.query_params["village"] in (OWN, [OWN])
    con = connect(app_env, read_only=False)
    try:
        own = town_summary(con, OWN)
    finally:
        con.close()
    values = metric_values(at)
    assert values["党建子网格"] == str(own.subgrids) != "89"
    assert values["在册党员"] == f"{own.party_members:,}"


def test_secretary_cannot_pick_another_village_in_the_filters(app_env):
    at = run_page(app_env, user=secretary(OWN))
    village_box = next(s for s in at.selectbox if s.label == "村居")
    with pytest.raises(AppTestError, match="disabled"):
        village_box.set_value(OTHER).run()
    at = run_page(app_env, user=secretary(OWN))
    assert at.session_state["filter_village"] == OWN


@pytest.mark.parametrize(
    "page",
    [
        "village",
        "study",
        "response",
        "ranking",
        "map",
        "coverage",
        "responsibility",
        "procedures",
        "places",
    ],
)
def test_secretary_pages_show_no_other_village(app_env, page):
    at = run_page(app_env, page, params={"village": OTHER}, user=secretary(OWN))
    assert not at.exception, page
    shown = texts(at)
    assert "营房村" in shown
    for frame in (df.value for df in at.dataframe):
        frame = pl.from_pandas(frame) if not isinstance(frame, pl.DataFrame) else frame
        for column in frame.columns:
            if frame[column].dtype == pl.String:
                values = set(frame[column].drop_nulls().to_list())
                assert not any(v.startswith(OTHER) for v in values), (page, column)
                assert "水库村" not in values


# ------------------------------------------------------------------ village scope: metrics


def public_functions():
    for name in (
        "coverage",
        "study",
        "response",
        "indices",
        "assessment",
        "overview",
        "drilldown_rows",
        # The four lists (责任落实, 程序清单, 阵地与志愿者).
        "duties",
        "team",
        "posts",
        "decision_procedure",
        "governance_procedure",
        "study_procedure",
        "procedures",
        "systems",
        "places",
        "volunteers",
    ):
        module = __import__(f"metrics.{name}", fromlist=["_"])
        for attr, value in vars(module).items():
            if (
                inspect.isfunction(value)
                and not attr.startswith("_")
                and value.__module__ == module.__name__
            ):
                yield module.__name__, attr, value
    for attr in ("villages", "subgrids", "service_points", "data_months", "boundaries"):
        yield "metrics.registry", attr, getattr(metrics.registry, attr)


def test_every_public_metric_function_enforces_the_scope():
    functions = list(public_functions())
    assert len(functions) > 25
    for module, attr, function in functions:
        assert hasattr(function, "__scoped__"), f"{module}.{attr} is not scope-checked"
        if function.__scoped__:
            params = inspect.signature(function).parameters
            assert any(
                p.annotation in ("Filter", Filter) or n == "village_id" for n, p in params.items()
            ), f"{module}.{attr} has nothing to scope"


def test_metrics_layer_narrows_or_refuses(sample_db):
    con = connect(sample_db)
    try:
        own = coverage_summary(con, Filter(RANGE.start, RANGE.end, "subgrid", OWN))
        with restricted_to(OWN):
            narrowed = coverage_summary(con, Filter(RANGE.start, RANGE.end, "subgrid"))
            with pytest.raises(ScopeDenied, match="CJ05"):
                coverage_summary(con, Filter(RANGE.start, RANGE.end, "subgrid", OTHER))
            with pytest.raises(ScopeDenied):
                kpis(con, Filter(RANGE.start, RANGE.end, "village", OTHER))
            rows = report_rows(con, RANGE)
            people = attendance_rows(con, RANGE)
            assert villages(con)["village_id"].to_list() == [OWN]
            with pytest.raises(ScopeDenied):
                villages(con, OTHER)
        assert metric_scope.current() is None  # the block restores the scope
        town_rows = report_rows(con, RANGE)
    finally:
        con.close()
    assert narrowed.equals(own)
    assert set(rows["village_id"].unique()) == {OWN}
    assert rows.height < town_rows.height
    assert set(people["village_id"].unique()) == {OWN}


def run_cli(*args: str, users_file=None):
    env = dict(os.environ)
    if users_file:
        env["GRID_USERS"] = str(users_file)
    return subprocess.run(
        [sys.executable, "-m", "metrics", *args],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


@pytest.mark.slow
def test_cli_with_a_secretary_scope(command_db, users_file):
    common = ("--db", str(command_db), "--from", "2026-10", "--to", "2026-10")
    done = run_cli(
        "coverage", *common, "--level", "village", "--user", "t_cj03", users_file=users_file
    )
    assert done.returncode == 0, done.stderr
    assert {r["unit_id"] for r in json.loads(done.stdout)} == {OWN}
    denied = run_cli(
        "study", *common, "--village", OTHER, "--user", "t_cj03", users_file=users_file
    )
    assert denied.returncode == 2
    assert "无权" in denied.stderr and denied.stdout == ""
    admin = run_cli("coverage", *common, "--user", "t_admin", users_file=users_file)
    assert admin.returncode == 2 and "无权" in admin.stderr
    everyone = run_cli("coverage", *common, "--level", "village", users_file=users_file)
    assert len(json.loads(everyone.stdout)) == 14


# ------------------------------------------------------------------ exports


def test_exports_are_audited_and_masked_for_leaders(app_env):
    from ui.exports import audited_export
    from ui.privacy import mask_name

    frame = pl.DataFrame({"姓名": ["=张三丰", "李四"], "村居": [OWN, OWN]})
    data = audited_export(frame, "测试导出", "csv", "t_cj03")
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    assert b"'=" in data  # formula neutralised
    assert ("t_cj03", "导出") in audit_actions(app_env)

    # Names in page tables (and so in their exports, built from the same frames).
    leader = run_page(app_env, "village", params={"village": OWN}, user=User("l", "领导", LEADER))
    office = run_page(app_env, "village", params={"village": OWN}, user=User("o", "办", OFFICE))

    def names(at) -> set[str]:
        out = set()
        for df in at.dataframe:
            frame = pl.from_pandas(df.value) if not isinstance(df.value, pl.DataFrame) else df.value
            for column in ("姓名", "name"):
                if column in frame.columns:
                    out |= set(frame[column].drop_nulls().to_list())
        return out

    shown_to_office, shown_to_leader = names(office), names(leader)
    assert shown_to_office, "the village page lists members"
    assert shown_to_leader == {mask_name(n) for n in shown_to_office}
    assert shown_to_leader.isdisjoint(shown_to_office)


def test_secretary_sees_own_town_rank_not_a_rank_among_one(app_env):
    con = connect(app_env)
    try:
        # The pages open on the latest complete sample month.
        town = assessment(con, Filter(RANGE.end, RANGE.end, "village"))
    finally:
        con.close()
    own = town.filter(pl.col("unit_id") == OWN)
    rank = own["rank"][0]
    assert town.height == 14 and rank > 1  # CJ03 is not first in the sample
    at = run_page(app_env, "village", user=secretary(OWN))
    card = next(m for m in at.metric if m.label == "考核总分")
    assert card.delta == f"全镇第 {rank} 名 / 14"
    at = run_page(app_env, "ranking", user=secretary(OWN))
    (shown,) = [df.value for df in at.dataframe if "考核排名" in df.value.columns]
    assert shown["考核排名"].tolist() == [rank]  # one row: their own village
    assert shown["考核总分"].tolist() == [round(own["total"][0], 2)]
