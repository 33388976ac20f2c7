"""The data contracts (docs/data.md): every file kind, its headers and its table.

This module is the single source of truth for column names (English, as in the
database), canonical Chinese headers, types and natural keys. The generator writes
files from it, the loader reads them with it, the schema is derived from it and the
upload page's templates come from it. Change a name here only with a migration.
"""

from __future__ import annotations

from dataclasses import dataclass

# Logical column types and their DuckDB spelling.
SQL_TYPES = {
    "text": "VARCHAR",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "int": "INTEGER",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
}


@dataclass(frozen=True)
class Column:
    """One column of a file kind: database name, canonical Chinese header, type."""

    name: str
    header: str
    dtype: str
    required: bool = True

    @property
    def sql_type(self) -> str:
        return SQL_TYPES[self.dtype]


@dataclass(frozen=True)
class Kind:
    """A kind of file (and the table it lands in)."""

    name: str
    label: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    uploadable: bool = True

    @property
    def table(self) -> str:
        return self.name

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, header: str, dtype: str = "text", required: bool = True) -> Column:
    return Column(name, header, dtype, required)


VILLAGE = Kind(
    "village",
    "村居",
    (
        _c("village_id", "村居编号"),
        _c("town_id", "镇编号"),
        _c("town_name", "镇名称"),
        _c("name", "村居名称"),
        _c("kind", "类型"),
        _c("is_placeholder", "是否占位", "bool"),
        _c("lon", "经度", "float"),
        _c("lat", "纬度", "float"),
    ),
    key=("village_id",),
    uploadable=False,
)

SUBGRID = Kind(
    "subgrid",
    "子网格",
    (
        _c("subgrid_id", "子网格编号"),
        _c("village_id", "村居编号"),
        _c("name", "子网格名称"),
        _c("lon", "经度", "float"),
        _c("lat", "纬度", "float"),
    ),
    key=("subgrid_id",),
    uploadable=False,
)

SERVICE_POINT = Kind(
    "service_point",
    "党群服务站点",
    (
        _c("place_id", "地点编号"),
        _c("village_id", "村居编号"),
        _c("kind", "类型"),
        _c("name", "名称"),
        _c("lon", "经度", "float"),
        _c("lat", "纬度", "float"),
    ),
    key=("place_id",),
    uploadable=False,
)

PERSON = Kind(
    "person",
    "人员名册",
    (
        _c("person_id", "人员编号"),
        _c("name", "姓名"),
        _c("gender", "性别", required=False),
        _c("birth_year", "出生年份", "int", required=False),
        _c("village_id", "村居编号"),
        _c("subgrid_id", "子网格编号", required=False),
        _c("is_party_member", "是否党员", "bool"),
        _c("role", "网格角色"),
        _c("volunteer_type", "志愿者类型", required=False),
        _c("active_from", "起始日期", "date"),
        _c("active_to", "终止日期", "date", required=False),
    ),
    key=("person_id",),
)

ACTIVITY = Kind(
    "activity",
    "活动台账",
    (
        _c("activity_id", "活动编号"),
        _c("activity_date", "活动日期", "date"),
        _c("village_id", "村居编号"),
        _c("subgrid_id", "子网格编号", required=False),
        _c("activity_type", "活动类型"),
        _c("topic", "活动主题", required=False),
        _c("place_id", "活动地点编号", required=False),
        _c("organizer_id", "组织人编号", required=False),
        _c("duration_min", "时长分钟", "int", required=False),
    ),
    key=("activity_id",),
)

ATTENDANCE = Kind(
    "attendance",
    "签到记录",
    (
        _c("activity_id", "活动编号"),
        _c("person_id", "人员编号"),
        _c("status", "出勤状态"),
        _c("mode", "参与方式", required=False),
        _c("signed_at", "签到时间", "timestamp", required=False),
    ),
    key=("activity_id", "person_id"),
)

REPORT = Kind(
    "report",
    "民情民意台账",
    (
        _c("report_id", "事项编号"),
        _c("subgrid_id", "子网格编号"),
        _c("reporter_id", "上报人编号", required=False),
        _c("category", "事项类别"),
        _c("summary", "事项摘要", required=False),
        _c("reported_at", "上报时间", "timestamp"),
        _c("accepted_at", "受理时间", "timestamp", required=False),
        _c("verified_at", "核实时间", "timestamp", required=False),
        _c("escalated_at", "反馈时间", "timestamp", required=False),
        _c("resolved_at", "办结时间", "timestamp", required=False),
        _c("handling_level", "办理层级", required=False),
        _c("status", "办理状态"),
        _c("satisfaction", "满意度", "int", required=False),
        # The 网格工作例会 (an activity id) that discussed the report (乡村治理 程序).
        _c("meeting_id", "例会编号", required=False),
    ),
    key=("report_id",),
)

EVALUATION = Kind(
    "evaluation",
    "两个指数测评",
    (
        _c("period", "测评期间"),
        _c("unit_id", "对象编号"),
        _c("index_name", "指数"),
        _c("rater", "测评类型"),
        _c("score", "得分", "float"),
    ),
    key=("period", "unit_id", "index_name", "rater"),
)

DEDUCTION = Kind(
    "deduction",
    "反向扣分",
    (
        _c("deduction_date", "扣分日期", "date"),
        _c("unit_id", "对象编号"),
        _c("item", "扣分事项"),
        _c("points", "扣分", "float"),
    ),
    key=("deduction_date", "unit_id", "item"),
)

# The 程序清单 and 责任清单 records (docs/data.md): one row per matter, per pair, per
# notice, per person and duty rated.
DECISION = Kind(
    "decision",
    "重要事项决策",
    (
        _c("matter_id", "决策事项编号"),
        _c("village_id", "村居编号"),
        _c("subject", "事项名称"),
        _c("supervised_on", "督导日期", "date", required=False),
        _c("proposed_on", "提议日期", "date"),
        _c("deliberated_on", "商议日期", "date", required=False),
        _c("resolved_on", "决议日期", "date", required=False),
        _c("resolution", "决议方式", required=False),
        _c("published_on", "公示日期", "date", required=False),
    ),
    key=("matter_id",),
)

PAIRING = Kind(
    "pairing",
    "结对名册",
    (
        _c("pair_id", "结对编号"),
        _c("pair_type", "结对类型"),
        _c("village_id", "村居编号"),
        _c("mentor_id", "帮带人编号", required=False),
        _c("partner_unit", "结对单位", required=False),
        _c("member_id", "结对对象编号"),
        _c("active_from", "起始日期", "date"),
        _c("active_to", "终止日期", "date", required=False),
    ),
    key=("pair_id",),
)

STUDY_NOTICE = Kind(
    "study_notice",
    "学习提示",
    (
        _c("notice_id", "提示编号"),
        _c("issued_on", "下发日期", "date"),
        _c("village_id", "村居编号"),
        _c("issuer_id", "下发人编号", required=False),
        _c("theme", "学习主题"),
    ),
    key=("notice_id",),
)

DUTY_RATING = Kind(
    "duty_rating",
    "履职评价",
    (
        _c("period", "评价期间"),
        _c("person_id", "人员编号"),
        _c("duty_id", "职责编号"),
        _c("result", "评价结果"),
        _c("note", "评价说明", required=False),
    ),
    key=("period", "person_id", "duty_id"),
)

REGISTRY_KINDS: tuple[Kind, ...] = (VILLAGE, SUBGRID, SERVICE_POINT)
# The kinds of the four lists' own records, beside the monthly logs.
LIST_KINDS: tuple[Kind, ...] = (PAIRING, DECISION, STUDY_NOTICE, DUTY_RATING)
UPLOAD_KINDS: tuple[Kind, ...] = (
    PERSON,
    ACTIVITY,
    ATTENDANCE,
    REPORT,
    EVALUATION,
    DEDUCTION,
    *LIST_KINDS,
)
KINDS: dict[str, Kind] = {k.name: k for k in REGISTRY_KINDS + UPLOAD_KINDS}

# Enumerations (docs/data.md, "Upload files"). Order is the display order.
VILLAGE_KINDS = ("村", "社区")
POINT_KINDS = ("服务站", "服务点")
ROLES = ("督导员", "总网格长", "网格指导员", "子网格长", "网格员", "党员", "网格志愿者")
VOLUNTEER_TYPES = ("在职党员", "结对单位党员", "新乡贤", "埭长", "其他")
GENDERS = ("男", "女")
ACTIVITY_TYPES = (
    "主题党日",
    "学习教育",
    "党员议事会",
    "子网格长接待日",
    "网格长巡查",
    "网格工作例会",
    "组织生活会",
    "志愿服务",
    "其他",
)
ATTENDANCE_STATUSES = ("出席", "请假", "缺席")
ATTENDANCE_MODES = ("现场", "送学上门", "线上")
REPORT_CATEGORIES = ("社情民意", "文明风尚", "安全稳定", "环境卫生", "矛盾纠纷", "其他")
HANDLING_LEVELS = ("子网格", "总网格", "镇")
REPORT_STATUSES = ("待受理", "处理中", "已办结", "不予受理")
INDEX_NAMES = ("堡垒指数", "先锋指数")
RATERS = ("自评", "党员群众测评", "上级考评")
RESOLUTION_METHODS = ("两委会决议", "党员大会表决")
MEMBER_PAIR_TYPES = ("老新结对", "以老带老")  # a member mentors a member
UNIT_PAIR_TYPES = ("城乡结对", "双百结对", "企村结对")  # a 结对单位 serves a village
PAIR_TYPES = MEMBER_PAIR_TYPES + UNIT_PAIR_TYPES
RATING_RESULTS = ("已履职", "未履职")
BOOL_TRUE, BOOL_FALSE = "是", "否"


# The allowed values of each enumerated column (validation and the templates' guides).
ENUMS: dict[tuple[str, str], tuple[str, ...]] = {
    ("village", "kind"): VILLAGE_KINDS,
    ("service_point", "kind"): POINT_KINDS,
    ("person", "gender"): GENDERS,
    ("person", "role"): ROLES,
    ("person", "volunteer_type"): VOLUNTEER_TYPES,
    ("activity", "activity_type"): ACTIVITY_TYPES,
    ("attendance", "status"): ATTENDANCE_STATUSES,
    ("attendance", "mode"): ATTENDANCE_MODES,
    ("report", "category"): REPORT_CATEGORIES,
    ("report", "handling_level"): HANDLING_LEVELS,
    ("report", "status"): REPORT_STATUSES,
    ("evaluation", "index_name"): INDEX_NAMES,
    ("evaluation", "rater"): RATERS,
    ("decision", "resolution"): RESOLUTION_METHODS,
    ("pairing", "pair_type"): PAIR_TYPES,
    ("duty_rating", "result"): RATING_RESULTS,
}
