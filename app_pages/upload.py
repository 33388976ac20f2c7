"""数据上传: templates, upload with validation report, commit, history with undo, boundaries."""

from __future__ import annotations

import hashlib
from functools import partial

import polars as pl
import streamlit as st

from etl.boundaries import BoundaryError, replace_boundaries
from etl.load import (
    UndoRefused,
    UploadRejected,
    commit_uploads,
    undo_upload,
    upload_history,
    validate_uploads,
)
from etl.templates import guide_frame, template_csv, template_kinds, template_xlsx
from ui.db import cursor
from ui.page import current_user_name, page_header, require_page
from ui.text import plain
from ui.widgets import method_note, table

require_page("upload")
page_header("数据上传")

tab_upload, tab_history, tab_templates, tab_boundary = st.tabs(
    ["上传月度台账", "上传历史与撤销", "模板下载", "地图边界"]
)

# ---------------------------------------------------------------- upload
with tab_upload:
    st.markdown(
        "一次可选择多个文件（CSV 或 Excel），例如同一个月的活动台账和签到记录。"
        "系统逐行校验，**有任何错误则整批不载入**，数据库保持原样；"
        "修改后重新上传即可。重复上传同一文件不会重复计数。"
    )
    nonce = st.session_state.setdefault("upload_nonce", 0)
    uploaded = st.file_uploader(
        "选择文件",
        type=["csv", "xlsx", "xls"],
        accept_multiple_files=True,
        key=f"upload_files_{nonce}",
        help="支持 UTF-8、带 BOM 的 UTF-8 和 GBK 编码的 CSV；Excel 取表头匹配的工作表。",
    )
    done = st.session_state.pop("upload_done", None)
    if done:
        st.success(done)

    if uploaded:
        files = [(f.name, f.getvalue()) for f in uploaded]
        signature = hashlib.sha256(b"".join(hashlib.sha256(d).digest() for _, d in files))
        signature = signature.hexdigest()
        cached = st.session_state.get("upload_validation")
        if cached is None or cached[0] != signature:
            with st.status("正在校验文件…", expanded=False) as status:
                bar = st.progress(0.0)

                def progress(step: int, total: int, label: str) -> None:
                    bar.progress(min(step / max(total, 1), 1.0), text=label)

                result = validate_uploads(cursor(), files, progress=progress)
                status.update(label="校验完成", state="complete")
            st.session_state["upload_validation"] = (signature, result)
        result = st.session_state["upload_validation"][1]

        failed = set(result.errors["文件"].to_list())

        def file_status(f) -> str:
            if f.duplicate_of is not None:
                return f"已于第 {f.duplicate_of} 次上传载入，跳过"
            if f.same_as:
                return "与本批另一文件相同，跳过"
            return "有错误，未载入" if f.label in failed or f.file_name in failed else "待载入"

        summary = pl.DataFrame(
            {
                "文件": [f.label for f in result.files],
                "类型": [f.kind_label or "无法识别" for f in result.files],
                "行数": [f.rows for f in result.files],
                "编码": [f.encoding or "—" for f in result.files],
                "表头所在行": [str(f.header_row) if f.header_row else "—" for f in result.files],
                "状态": [file_status(f) for f in result.files],
            }
        )
        st.subheader("文件概况")
        st.dataframe(summary, width="stretch", hide_index=True)
        for f in result.files:
            if f.preview.height:
                with st.expander(f"预览：{plain(f.label)}（前 {f.preview.height} 行）"):
                    st.dataframe(f.preview, width="stretch", hide_index=True)

        if not result.ok:
            # Whole-file problems (unreadable, over a limit) are said in words: one line
            # each, so the reason is read in full rather than cut in a table cell.
            whole_file = result.errors.filter(pl.col("行号").is_null())
            lines = [
                f"- {plain(name)}：{plain(reason)}"
                for name, reason in whole_file.select("文件", "原因").head(10).iter_rows()
            ]
            st.error(
                "\n".join(
                    [
                        f"发现 {result.errors.height} 个错误，整批文件均未载入，"
                        "数据库没有任何改动。请按下表修改后重新上传。",
                        "",
                        *lines,
                    ]
                )
            )
            table(result.errors, "校验错误", key="upload_errors")
        if result.warnings.height:
            st.warning(f"{result.warnings.height} 条提示（不影响载入）：")
            table(result.warnings, "校验提示", key="upload_warnings")

        if result.ok and result.noop:
            st.info("这些文件此前都已载入，无需重复载入。")
        elif result.ok:
            new_files = [f for f in result.files if not f.skipped]
            st.success(
                f"校验通过：{len(new_files)} 个文件、{sum(f.rows for f in new_files):,} 行。"
            )
            if st.button("确认载入", type="primary", key="upload_commit"):
                try:
                    with st.spinner("正在载入（单一事务，中途失败则全部回滚）…"):
                        records = commit_uploads(cursor(), result, current_user_name())
                except UploadRejected as exc:
                    st.session_state.pop("upload_validation", None)
                    st.error("数据在校验后发生了变化，重新校验发现错误，未载入：")
                    table(exc.result.errors, "校验错误", key="upload_errors_again")
                else:
                    lines = [
                        f"{plain(r.file_name)}：新增 {r.rows_inserted:,} 行，"
                        f"更新 {r.rows_updated:,} 行"
                        + (f"，未变 {r.rows_unchanged:,} 行" if r.rows_unchanged else "")
                        for r in records
                    ]
                    batch = records[0].batch_id if records else "—"
                    st.session_state["upload_done"] = (
                        f"已载入（批次 {batch}）。各页面已更新为最新数据。\n\n- "
                        + "\n- ".join(lines)
                    )
                    st.session_state.pop("upload_validation", None)
                    st.session_state["upload_nonce"] = nonce + 1
                    st.rerun()

    method_note(
        "- 文件类型由表头识别（中文表头或英文别名，列顺序不限）；多余的列会提示并忽略。\n"
        "- 可容忍：标题行、末尾空行空列、前后空格、全角数字、"
        "2026/10/5、2026年10月5日、2026.10.05 等日期写法及 Excel 日期序号。\n"
        "- 同一批文件在一个事务中载入：全部成功或全部不载入。\n"
        "- 更正后重新上传按编号更新：活动按活动编号，签到按活动+人员，"
        "民情按事项编号以最新状态为准。"
    )

# ---------------------------------------------------------------- history
with tab_history:
    history = upload_history(cursor(), limit=500)
    if history.is_empty():
        st.info("还没有上传记录。")
    else:
        table(history, "上传历史", key="upload_history")
        live = history.filter(pl.col("状态") == "已载入")
        batches = (
            live.group_by("批次").agg(pl.col("文件").str.join("、")).sort("批次", descending=True)
        )
        if batches.height:
            st.subheader("撤销一次上传")
            st.caption(
                "撤销会把数据库恢复到该批次载入之前的状态。若之后的上传改动了同一批数据，请先撤销较新的上传。"
            )
            options = batches["批次"].to_list()
            names = dict(batches.iter_rows())
            choice = st.selectbox(
                "选择批次", options, format_func=lambda b: f"批次 {b}：{names[b]}", key="undo_batch"
            )
            confirm = st.checkbox("我确认要撤销这一批次", key="undo_confirm")
            if st.button("撤销", disabled=not confirm, key="undo_button"):
                upload_id = live.filter(pl.col("批次") == choice)["上传编号"].min()
                try:
                    undone = undo_upload(cursor(), int(upload_id), current_user_name())
                except UndoRefused as exc:
                    st.error(f"无法撤销：{plain(exc)}")
                else:
                    removed = sum(undone.removed.values())
                    restored = sum(undone.restored.values())
                    st.session_state["upload_done"] = (
                        f"已撤销批次 {undone.batch_id}（{plain('、'.join(undone.files))}）："
                        f"删除 {removed:,} 行，恢复 {restored:,} 行。"
                    )
                    st.rerun()

# ---------------------------------------------------------------- templates
with tab_templates:
    st.markdown(
        "每类台账一个模板：中文表头和一行示例（示例编号取自营房村 CJ03），"
        "Excel 模板另附“填写说明”。"
    )
    for kind in template_kinds():
        with st.container(border=True):
            st.markdown(f"**{kind.label}**（{kind.name}）")
            left, right, _ = st.columns([1, 1, 4])
            left.download_button(
                "CSV 模板",
                data=partial(template_csv, kind),  # built when clicked
                file_name=f"{kind.label}模板.csv",
                mime="text/csv",
                key=f"tpl_csv_{kind.name}",
                on_click="ignore",
            )
            right.download_button(
                "Excel 模板",
                data=partial(template_xlsx, kind),
                file_name=f"{kind.label}模板.xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                key=f"tpl_xlsx_{kind.name}",
                on_click="ignore",
            )
            with st.expander("填写说明"):
                st.dataframe(guide_frame(kind), width="stretch", hide_index=True)

# ---------------------------------------------------------------- boundaries
with tab_boundary:
    st.markdown(
        "随系统提供的村居和子网格边界是**示意数据**（没有公开的边界）。"
        "可上传 GeoJSON（WGS84 经纬度，FeatureCollection），每个要素的 properties 需含 "
        "`level`（village 或 subgrid）和 `unit_id`（村居或子网格编号），可含 `name`。"
        "整份文件校验通过后一次替换；有错误则不作改动。"
    )
    geo = st.file_uploader("选择 GeoJSON 文件", type=["geojson", "json"], key="boundary_file")
    if geo is not None and st.button("替换地图边界", key="boundary_commit"):
        try:
            loaded = replace_boundaries(cursor(), geo.getvalue(), geo.name, current_user_name())
        except BoundaryError as exc:
            st.error(f"未替换：{plain(exc)}")
        else:
            message = f"已替换边界：{loaded.villages} 个村居、{loaded.subgrids} 个子网格。"
            if loaded.missing:
                missing = "、".join(loaded.missing[:20])
                message += f" 以下单位没有边界，将不在地图上显示：{plain(missing)}"
            st.success(message)
