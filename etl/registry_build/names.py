"""People's names: a surname by local frequency, one or two given characters by era."""

from __future__ import annotations

import random

SURNAMES = (
    ("张", 9), ("王", 8), ("陈", 8), ("沈", 7), ("徐", 7), ("朱", 6), ("顾", 6), ("陆", 6),
    ("李", 5), ("周", 5), ("吴", 5), ("杨", 5), ("金", 4), ("黄", 4), ("钱", 4), ("蒋", 3),
    ("姚", 3), ("孙", 3), ("曹", 3), ("倪", 3), ("龚", 2), ("潘", 2), ("胡", 2), ("冯", 2),
    ("范", 2), ("俞", 2), ("许", 2), ("马", 2), ("唐", 2), ("卫", 2), ("蔡", 2), ("施", 2),
    ("宋", 1), ("庄", 1), ("盛", 1), ("戴", 1), ("夏", 1), ("屠", 1), ("邱", 1), ("汤", 1),
)  # fmt: skip
_SURNAME_CHARS = [s for s, _ in SURNAMES]
_SURNAME_WEIGHTS = [w for _, w in SURNAMES]
GIVEN = {
    ("男", "old"): "根林福荣金龙海兴德华忠国建明生宝祥发才云昌富良财弟泉新平仁义水元",
    ("男", "young"): "杰俊磊浩伟涛晨宇峰斌军勇强鑫超亮敏健辉波刚飞骏毅凯阳鹏翔振华明东",
    ("女", "old"): "英妹珍凤秀芳兰娟玉梅菊琴花宝金彩美娣芬云林月仙",
    ("女", "young"): "婷雯佳静燕丽颖倩怡琳洁艳敏红霞莉萍蕾晶瑾悦雪慧娜雁",
}


def person_name(rng: random.Random, gender: str, birth_year: int) -> str:
    """A plausible local name for someone of ``gender`` born in ``birth_year``."""
    surname = rng.choices(_SURNAME_CHARS, weights=_SURNAME_WEIGHTS)[0]

    def char() -> str:
        if birth_year < 1965:
            era = "old"
        elif birth_year >= 1985:
            era = "young"
        else:
            era = rng.choice(("old", "young"))
        return rng.choice(GIVEN[(gender, era)])

    if rng.random() < (0.12 if birth_year < 1965 else 0.3):
        return surname + char()
    first = char()
    second = char()
    while second == first:
        second = char()
    return surname + first + second
