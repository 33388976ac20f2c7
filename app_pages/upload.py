"""数据上传: templates, upload with validation report, commit, history with undo,
零报告, boundaries (see docs/pages.md, 数据上传, and docs/loading.md for what a load
and a 零报告 do).

A batch of files is validated once per set of file contents (the result is kept in
the session under its signature), then committed in one transaction on request. Rows
outside the village or month their file is for are listed before 确认载入 and must be
accepted (a checkbox) or the commit refuses. The outcome of a commit or undo is shown
after the rerun that clears the uploader; an undo also clears its confirmation and
keeps the batch picker on the undone batch's neighbour.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import partial

import polars as pl
import streamlit as st

from etl.boundaries import BoundaryError, replace_boundaries
from etl.load import (
    OutsideRowsRefused,
    UndoRefused,
    UploadRejected,
    commit_uploads,
    undo_upload,
    upload_history,
    validate_uploads,
)
from etl.registry_upload import registry_export, registry_lists
from etl.templates import (
    guide_frame,
    registry_csv,
    registry_kinds,
    registry_xlsx,
    template_csv,
    template_kinds,
    template_xlsx,
)
from etl.zero_reports import (
    ZeroReportChange,
    ZeroReportRefused,
    declare_zero_report,
    withdraw_zero_report,
    zero_report_list,
)
from store.clock import today_local
from store.months import month_label, month_span
from store.reporting_units import UNIT_KIND_LABELS, UNIT_KINDS
from ui import session
from ui.db import cursor
from ui.exports import download_pair
from ui.navigation import require_page
from ui.tables import data_grid, show_records
from ui.text import plain
from ui.widgets import method_note, page_header

NONCE_KEY, VALIDATION_KEY, DONE_KEY = "upload_nonce", "upload_validation", "upload_done"
# After an undo: the batch the picker shows next (set before it is drawn).
UNDO_NEXT_KEY = "undo_batch_next"
UNDO_PICK_KEY, UNDO_CONFIRM_KEY = "undo_batch", "undo_confirm"
ACCEPT_LABEL = "我已逐行核对，确认这些行一并载入"
UPLOAD_RULES = (
    "- 文件类型由表头识别（中文表头或英文别名，列顺序不限）；多余的列会提示并忽略。\n"
    "- 可容忍：标题行、末尾空行空列、前后空格、全角数字、"
    "2026/10/5、2026年10月5日、2026.10.05 等日期写法及 Excel 日期序号。\n"
    "- 同一批文件在一个事务中载入：全部成功或全部不载入。\n"
    "- 更正后重新上传按编号更新：活动按活动编号，签到按活动+人员，"
    "民情按事项编号以最新状态为准。\n"
    "- 模板中的示例行（第 2 行）必须删除，否则整批被拒绝。\n"
    "- 文件所属的村居、月份取自文件名（如“营房村_2026年10月_活动台账.xlsx”），"
    "文件名未写明时取多数行；不属于的行会列出，需勾选确认后才能载入。\n"
    "- 村居、子网格、党群服务站点名册按编号新增或更新，不删除编号；"
    "已有数据的子网格、站点不能改属其他村居。"
)


# --- upload -------------------------------------------------------------------------


def signature_of(files: list[tuple[str, bytes]]) -> str:
    """A digest of the files' contents: one validation (and one acceptance) per set."""
    return hashlib.sha256(b"".join(hashlib.sha256(d).digest() for _, d in files)).hexdigest()


def validated(files: list[tuple[str, bytes]]):
    """The validation of ``files``, computed once per set of contents."""
    signature = signature_of(files)
    cached = session.value(VALIDATION_KEY)
    if cached is not None and cached[0] == signature:
        return cached[1]
    with st.status("正在校验文件…", expanded=False) as status:
        bar = st.progress(0.0)

        def progress(step: int, total: int, label: str) -> None:
            bar.progress(min(step / max(total, 1), 1.0), text=label)

        result = validate_uploads(cursor(), files, progress=progress)
        status.update(label="校验完成", state="complete")
    session.put(VALIDATION_KEY, (signature, result))
    return result


def file_status(f, failed: set[str]) -> str:
    """What happens to one file of the batch."""
    if f.duplicate_of is not None:
        return f"已于第 {f.duplicate_of} 次上传载入，跳过"
    if f.same_as:
        return "与本批另一文件相同，跳过"
    return "有错误，未载入" if f.label in failed or f.file_name in failed else "待载入"


def file_overview(result) -> None:
    """文件概况: one row per file, and a preview of each."""
    failed = set(result.errors["文件"].to_list())
    files = result.files
    summary = pl.DataFrame(
        {
            "文件": [f.label for f in files],
            "类型": [f.kind_label or "无法识别" for f in files],
            "行数": [f.rows for f in files],
            "编码": [f.encoding or "—" for f in files],
            "表头所在行": [str(f.header_row) if f.header_row else "—" for f in files],
            "状态": [file_status(f, failed) for f in files],
        }
    )
    st.subheader("文件概况")
    data_grid(summary)
    for f in files:
        if f.preview.height:
            with st.expander(f"预览：{plain(f.label)}（前 {f.preview.height} 行）"):
                data_grid(f.preview)


def problems(result) -> None:
    """The errors (the batch is refused) and the warnings (it loads anyway)."""
    if not result.ok:
        # Whole-file problems (unreadable, over a limit) are said in words: one line
        # each, so the reason is read in full rather than cut in a table cell.
        whole_file = result.errors.filter(pl.col("行号").is_null())
        lines = [
            f"- {plain(name)}：{plain(reason)}"
            for name, reason in whole_file.select("文件", "原因").head(10).iter_rows()
        ]
        intro = (
            f"发现 {result.errors.height} 个错误，整批文件均未载入，"
            "数据库没有任何改动。请按下表修改后重新上传。"
        )
        st.error("\n".join([intro, "", *lines]))
        show_records(result.errors, "校验错误", key="upload_errors")
    if result.warnings.height:
        st.warning(f"{result.warnings.height} 条提示（不影响载入）：")
        show_records(result.warnings, "校验提示", key="upload_warnings")


def commit(result, nonce: int, accepted: bool) -> None:
    """Load a validated batch in one transaction; on success clear the uploader.

    ``accepted``: the user ticked the acceptance of the rows outside the declared
    village or month (the commit refuses them otherwise)."""
    try:
        with st.spinner("正在载入（单一事务，中途失败则全部回滚）…"):
            records = commit_uploads(cursor(), result, session.user_name(), accept_outside=accepted)
    except UploadRejected as exc:
        session.take(VALIDATION_KEY)
        st.error("数据在校验后发生了变化，重新校验发现错误，未载入：")
        show_records(exc.result.errors, "校验错误", key="upload_errors_again")
        return
    except OutsideRowsRefused as exc:
        st.error(
            f"未载入：有 {exc.result.outside.height} 行不属于文件所对应的村居或月份。"
            f"请核对上方列出的行：确属本批的，勾选“{ACCEPT_LABEL}”后再点确认载入；"
            "否则修改文件后重新上传。数据库没有任何改动。"
        )
        return
    lines = [
        f"{plain(r.file_name)}：新增 {r.rows_inserted:,} 行，更新 {r.rows_updated:,} 行"
        + (f"，未变 {r.rows_unchanged:,} 行" if r.rows_unchanged else "")
        for r in records
    ]
    batch = records[0].batch_id if records else "—"
    done = f"已载入（批次 {batch}）。各页面已更新为最新数据。\n\n- " + "\n- ".join(lines)
    session.put(DONE_KEY, done)
    session.take(VALIDATION_KEY)
    session.put(NONCE_KEY, nonce + 1)
    st.rerun()


def outside_rows(result, signature: str) -> bool:
    """The rows outside the village or month their file is for, and the checkbox that
    accepts them; returns whether they are accepted."""
    outside = result.outside
    st.warning(
        f"有 {outside.height} 行不属于文件所对应的村居或月份（见下表：文件、行号、原因）。"
        "可能是把别的村居、别的月份的数据混进了文件，也可能是补报的迟报数据。"
        "请逐行核对：确属本批的，勾选下面的确认后再载入；否则请修改文件后重新上传。"
    )
    # 行号 and 原因 first: on a phone the table shows its first columns only.
    ordered = outside.select("行号", "原因", "列", "值", "文件")
    show_records(ordered, "不属于本批的行", key="upload_outside")
    # One acceptance per set of files: new files need a new tick.
    return st.checkbox(ACCEPT_LABEL, key=f"upload_accept_outside_{signature[:16]}")


def offer_commit(result, nonce: int, signature: str) -> None:
    """The outcome of a clean validation: nothing new, or the button that loads it."""
    if result.noop:
        st.info("这些文件此前都已载入，无需重复载入。")
        return
    new_files = [f for f in result.files if not f.skipped]
    rows = sum(f.rows for f in new_files)
    st.success(f"校验通过：{len(new_files)} 个文件、{rows:,} 行。")
    accepted = outside_rows(result, signature) if result.needs_acceptance else False
    if st.button("确认载入", type="primary", key="upload_commit"):
        commit(result, nonce, accepted)


def uploader_guide() -> None:
    """How to use the file picker, in Chinese: its own texts are fixed in English by
    Streamlit (no language option in 1.67; docs/decisions/0015)."""
    limit = st.get_option("server.maxUploadSize")
    st.caption(
        f"**选择文件的方法**：把文件拖到下方虚线框内，或点击框内的 **Upload**（上传）按钮"
        f"选择文件，可一次选多个。每个文件不超过 {limit} MB，格式为 CSV、XLSX 或 XLS。"
        f"框内的英文提示是系统组件自带的：“Upload”= 选择文件，"
        f"“{limit}MB per file”= 每个文件不超过 {limit} MB，"
        "“Drag and drop files here”= 把文件拖到这里。"
    )


def upload_tab() -> None:
    st.markdown(
        "一次可选择多个文件（CSV 或 Excel），例如同一个月的活动台账和签到记录；"
        "村居、子网格、党群服务站点名册也在这里上传（在“模板下载”取当前名册，改好后上传）。"
        "系统逐行校验，**有任何错误则整批不载入**，数据库保持原样；"
        "修改后重新上传即可。重复上传同一文件不会重复计数。"
    )
    uploader_guide()
    nonce = session.value(NONCE_KEY, 0)
    uploaded = st.file_uploader(
        "选择文件",
        type=["csv", "xlsx", "xls"],
        accept_multiple_files=True,
        key=f"upload_files_{nonce}",
        help="支持 UTF-8、带 BOM 的 UTF-8 和 GBK 编码的 CSV；Excel 取表头匹配的工作表。",
    )
    done = session.take(DONE_KEY)
    if done:
        st.success(done)
    if uploaded:
        files = [(f.name, f.getvalue()) for f in uploaded]
        result = validated(files)
        file_overview(result)
        problems(result)
        if result.ok:
            offer_commit(result, nonce, signature_of(files))
    method_note(UPLOAD_RULES)


# --- history ------------------------------------------------------------------------


def undo_batch(live: pl.DataFrame, choice: int) -> None:
    """Undo the chosen batch (its first upload id names it in the log)."""
    upload_id = live.filter(pl.col("批次") == choice)["上传编号"].min()
    try:
        undone = undo_upload(cursor(), int(upload_id), session.user_name())
    except UndoRefused as exc:
        st.error(f"无法撤销：{plain(exc)}")
        return
    removed = sum(undone.removed.values())
    restored = sum(undone.restored.values())
    # The undone batch leaves the picker: show its neighbour next, unticked (set before
    # the widgets are drawn on the next run).
    session.put(UNDO_NEXT_KEY, neighbour(live["批次"].unique().to_list(), choice))
    session.put(
        DONE_KEY,
        f"已撤销批次 {undone.batch_id}（{plain('、'.join(undone.files))}）："
        f"删除 {removed:,} 行，恢复 {restored:,} 行。",
    )
    st.rerun()


def neighbour(batches: list[int], undone: int) -> int | None:
    """The batch to show after ``undone`` is undone: the nearest older live batch (the
    next one to undo, newest first), else the nearest newer one."""
    older = [b for b in batches if b < undone]
    newer = [b for b in batches if b > undone]
    return max(older) if older else (min(newer) if newer else None)


def undo_form(history: pl.DataFrame) -> None:
    """撤销一次上传: pick a loaded batch, confirm, undo."""
    live = history.filter(pl.col("状态") == "已载入")
    batches = live.group_by("批次").agg(pl.col("文件").str.join("、")).sort("批次", descending=True)
    if session.has(UNDO_NEXT_KEY):
        following = session.take(UNDO_NEXT_KEY)
        if following in batches["批次"].to_list():
            session.put(UNDO_PICK_KEY, following)
        session.put(UNDO_CONFIRM_KEY, False)
    if not batches.height:
        return
    st.subheader("撤销一次上传")
    st.caption(
        "撤销会把数据库恢复到该批次载入之前的状态。若之后的上传改动了同一批数据，请先撤销较新的上传。"
    )
    names = dict(batches.iter_rows())
    choice = st.selectbox(
        "选择批次",
        batches["批次"].to_list(),
        format_func=lambda b: f"批次 {b}：{names[b]}",
        key=UNDO_PICK_KEY,
    )
    confirm = st.checkbox("我确认要撤销这一批次", key=UNDO_CONFIRM_KEY)
    if st.button("撤销", disabled=not confirm, key="undo_button"):
        undo_batch(live, choice)


def history_tab() -> None:
    history = upload_history(cursor(), limit=500)
    if history.is_empty():
        st.info("还没有上传记录。")
        return
    show_records(history, "上传历史", key="upload_history")
    undo_form(history)


# --- 零报告 ----------------------------------------------------------------------------

ZERO_DONE_KEY = "zero_report_done"
ZERO_MONTHS = 12  # the months offered: this month and the eleven before


def declare_form() -> None:
    """登记零报告: village, month, kinds (and a note), all or nothing."""
    names = session.village_names()
    with st.form("zero_report_form", border=True):
        st.markdown("**登记零报告**")
        left, right = st.columns(2)
        village = left.selectbox(
            "村居", list(names), format_func=lambda v: names.get(v, v), key="zero_village"
        )
        months = month_span(today_local(), ZERO_MONTHS)[::-1]
        month = right.selectbox("月份", months, format_func=month_label, key="zero_month")
        kinds = st.multiselect(
            "数据类别（可多选）",
            list(UNIT_KINDS),
            format_func=UNIT_KIND_LABELS.get,
            key="zero_kinds",
        )
        note = st.text_input("说明（可选）", key="zero_note", placeholder="例如：本月未开展活动")
        if st.form_submit_button("登记零报告", type="primary"):
            user, note = session.user_name(), note or None
            zero_report_change(
                "登记", lambda: declare_zero_report(cursor(), village, month, kinds, user, note)
            )


def zero_report_change(verb: str, change: Callable[[], ZeroReportChange]) -> None:
    """Run a declaration or withdrawal (``verb``: 登记/撤销); its outcome is shown after
    the rerun, a refusal at once."""
    try:
        unit = change()
    except ZeroReportRefused as exc:
        st.error(f"未{verb}：{plain(exc)}")
        return
    session.put(ZERO_DONE_KEY, f"已{verb}零报告：{plain(unit.describe())}。报送情况已更新。")
    st.rerun()


def withdraw_form(declared: pl.DataFrame) -> None:
    """撤销零报告: pick one declaration, confirm, withdraw it."""
    options = list(range(declared.height))
    rows = declared.to_dicts()
    choice = st.selectbox(
        "选择要撤销的登记",
        options,
        format_func=lambda i: (
            f"{rows[i]['村居']} {month_label(rows[i]['month'])} {rows[i]['数据类别']}"
        ),
        key="zero_withdraw_pick",
    )
    confirm = st.checkbox("我确认要撤销这条零报告登记", key="zero_withdraw_confirm")
    if st.button("撤销登记", disabled=not confirm, key="zero_withdraw_button"):
        row = rows[choice]
        village, month, kinds = row["village_id"], row["month"], [row["kind"]]
        zero_report_change(
            "撤销",
            lambda: withdraw_zero_report(cursor(), village, month, kinds, session.user_name()),
        )


def zero_report_tab() -> None:
    st.markdown(
        "某村居某月**确实没有**某类数据（如当月未开展活动）时，在此登记“零报告”，"
        "报送情况即显示为**零报告**而不是**未报送**。已有数据的月份不能登记；"
        "登记之后又上传了数据的，以数据为准。"
    )
    done = session.take(ZERO_DONE_KEY)
    if done:
        st.success(done)
    declare_form()
    declared = zero_report_list(cursor())
    st.subheader("已登记的零报告")
    if declared.is_empty():
        st.info("还没有零报告登记。")
        return
    show_records(declared.drop("village_id", "month", "kind"), "零报告登记", key="zero_list")
    withdraw_form(declared)


# --- templates and boundaries ---------------------------------------------------------


def template_downloads(kind, lists) -> None:
    """The CSV and Excel templates of one kind of file, and its guide."""
    with st.container(border=True):
        st.markdown(f"**{kind.label}**（{kind.name}）")
        download_pair(
            partial(template_csv, kind),  # built when clicked
            partial(template_xlsx, kind, lists),
            f"{kind.label}模板",
            f"tpl_{kind.name}",
            labels=("CSV 模板", "Excel 模板"),
            widths=(1, 1, 4),
        )
        with st.expander("填写说明"):
            data_grid(guide_frame(kind))


def registry_downloads(kind, lists) -> None:
    """The stored registry of one kind as CSV and Excel: edit and upload back."""
    rows = registry_export(cursor(), kind)
    with st.container(border=True):
        st.markdown(f"**{kind.label}名册**（{kind.name}，当前 {rows.height} 条）")
        download_pair(
            partial(registry_csv, kind, rows),
            partial(registry_xlsx, kind, rows, lists),
            f"{kind.label}名册",
            f"reg_{kind.name}",
            labels=("CSV 名册", "Excel 名册"),
            widths=(1, 1, 4),
        )


def templates_tab() -> None:
    lists = registry_lists(cursor())
    st.markdown(
        "每类台账一个模板：中文表头和一行示例（示例编号取自营房村 CJ03）。"
        "**示例行只作示范，上传前请删除**，否则整批会被拒绝。"
        "Excel 模板的编号、类型、状态等列带下拉选项，另附“填写说明”和“编号对照”"
        "（村居、子网格、党群服务站点的编号与名称）。"
    )
    for kind in template_kinds():
        template_downloads(kind, lists)
    st.subheader("名册（村居、子网格、党群服务站点）")
    st.markdown(
        "下载当前名册，修改名称（如把占位名称改为正式名称，并把“是否占位”改为“否”）"
        "后在“上传月度台账”中上传即可替换。按编号新增或更新，**不会删除编号**；"
        "已有数据的子网格、站点不能改属其他村居。"
    )
    for kind in registry_kinds():
        registry_downloads(kind, lists)


def replace_map_boundaries(geo) -> None:
    """Replace every boundary with the uploaded GeoJSON, or say why not."""
    try:
        loaded = replace_boundaries(cursor(), geo.getvalue(), geo.name, session.user_name())
    except BoundaryError as exc:
        st.error(f"未替换：{plain(exc)}")
        return
    message = f"已替换边界：{loaded.villages} 个村居、{loaded.subgrids} 个子网格。"
    if loaded.missing:
        missing = "、".join(loaded.missing[:20])
        message += f" 以下单位没有边界，将不在地图上显示：{plain(missing)}"
    st.success(message)


def boundary_tab() -> None:
    st.markdown(
        "随系统提供的村居和子网格边界是**示意数据**（没有公开的边界）。"
        "可上传 GeoJSON（WGS84 经纬度，FeatureCollection），每个要素的 properties 需含 "
        "`level`（village 或 subgrid）和 `unit_id`（村居或子网格编号），可含 `name`。"
        "整份文件校验通过后一次替换；有错误则不作改动。"
    )
    geo = st.file_uploader("选择 GeoJSON 文件", type=["geojson", "json"], key="boundary_file")
    if geo is not None and st.button("替换地图边界", key="boundary_commit"):
        replace_map_boundaries(geo)


def draw_page() -> None:
    require_page("upload")
    page_header("数据上传")
    tabs = st.tabs(["上传月度台账", "上传历史与撤销", "零报告", "模板下载", "地图边界"])
    draws = (upload_tab, history_tab, zero_report_tab, templates_tab, boundary_tab)
    for tab, draw in zip(tabs, draws, strict=True):
        with tab:
            draw()


draw_page()
