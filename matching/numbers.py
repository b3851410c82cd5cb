"""The numbers-and-operators check: two texts are the same question only if they agree here.

Sentence embeddings barely see "3倍加5" versus "3倍减5" or 20 versus 30, so the ranking reads each text's numbers
(Arabic or Chinese numerals, fractions and percentages unified) and its operators (加/+, 减/-, 乘/×/倍, 除/÷, 多, 少,
大于/>, 小于/<, 比…大/小, %, 平方, 立方 ...), both in order of appearance: "还多2个" against "还少2个" differs even when
the other clauses use both 多 and 少. A difference blocks "same", never "similar": it is the same kind of question
with other data.
"""

import re
from dataclasses import dataclass
from decimal import Decimal

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
_CHINESE_NUMERAL = "零〇一二两三四五六七八九十百千万"
# A lone 一 or unit character is a word (一个, 一共, 千克, 万一), not a quantity.
_NOT_QUANTITIES = {"一", "十", "百", "千", "万"}
_CHINESE_RUN = re.compile(f"[{_CHINESE_NUMERAL}]+")
_FRACTION_WORDS = re.compile(rf"([{_CHINESE_NUMERAL}\d.]+)分之([{_CHINESE_NUMERAL}\d.]+)")
_PERCENT_WORDS = re.compile(rf"百分之([{_CHINESE_NUMERAL}\d.]+)")
_NUMBER = re.compile(r"\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)?")

_OPERATOR_CLASSES = {
    "加": "+",
    "+": "+",
    "减": "-",
    "-": "-",
    "−": "-",
    "乘": "×",
    "×": "×",
    "*": "×",
    "倍": "×",
    "除": "÷",
    "÷": "÷",
    "大于": ">",
    ">": ">",
    "小于": "<",
    "<": "<",
    "≥": "≥",
    "≤": "≤",
    "≠": "≠",
    "%": "%",
    "√": "√",
    "开方": "√",
    "平方": "²",
    "²": "²",
    "立方": "³",
    "³": "³",
    "多": "多",
    "少": "少",
}
# 多少 ("how many") asks, it does not compare: read as 几. 大/小 compare only before a quantity ("大3岁", "大几岁");
# elsewhere they are names and sizes (小明, 大象).
_HOW_MANY = ("多少", "几")
_OPERATOR = re.compile(
    "|".join(re.escape(spelling) for spelling in sorted(_OPERATOR_CLASSES, key=len, reverse=True)) + r"|[大小](?=\d|几)"
)
_CLASS_OF = {**_OPERATOR_CLASSES, "大": ">", "小": "<"}


def chinese_numeral_value(run: str) -> int:
    """Value of a Chinese numeral: 三 -> 3, 二十五 -> 25, 一百零五 -> 105, 三千五百 -> 3500, 两万 -> 20000."""
    total, section, digit = 0, 0, 0
    for character in run:
        if character in _DIGITS:
            digit = _DIGITS[character]
        elif character in _UNITS:
            section += (digit or 1) * _UNITS[character]
            digit = 0
        else:  # 万
            total = (total + section + digit) * 10_000
            section, digit = 0, 0
    return total + section + digit


def _as_arabic(numeral: str) -> str:
    return numeral if not _CHINESE_RUN.fullmatch(numeral) else str(chinese_numeral_value(numeral))


def _canonical_number(number: str) -> str:
    return "/".join(format(Decimal(part).normalize(), "f") for part in number.split("/"))


@dataclass(frozen=True)
class Quantities:
    numbers: tuple[str, ...]
    operators: tuple[str, ...]


def quantities(normalised_text: str) -> Quantities:
    """The numbers and the operator classes, in order of appearance, of a text already passed through `normalise`."""
    text = _PERCENT_WORDS.sub(lambda found: _as_arabic(found.group(1)) + "%", normalised_text)
    text = _FRACTION_WORDS.sub(lambda found: f"{_as_arabic(found.group(2))}/{_as_arabic(found.group(1))}", text)
    text = _CHINESE_RUN.sub(
        lambda found: found.group(0) if found.group(0) in _NOT_QUANTITIES else _as_arabic(found.group(0)), text
    )
    numbers = tuple(_canonical_number(number) for number in _NUMBER.findall(text))
    text = text.replace(*_HOW_MANY)
    operators = tuple(_CLASS_OF[found] for found in _OPERATOR.findall(text))
    return Quantities(numbers=numbers, operators=operators)
