from matching.numbers import Quantities, quantities
from matching.text import normalise


def test_quantities_reads_numbers_in_order_and_operator_classes() -> None:
    assert quantities(normalise("一个数的3倍加5等于20")) == Quantities(("3", "5", "20"), ("×", "+"))


def test_chinese_numerals_read_as_arabic() -> None:
    assert quantities(normalise("一个数的三倍加上五等于二十")) == quantities(normalise("一个数的3倍加5等于20"))
    assert quantities("一百零五减去两万").numbers == ("105", "20000")


def test_a_changed_operator_or_number_is_seen() -> None:
    same = quantities(normalise("一个数的3倍加5等于20"))

    assert quantities(normalise("一个数的3倍减5等于20")).operators == ("×", "-")
    assert quantities(normalise("一个数的3倍加5等于30")).numbers != same.numbers


def test_fractions_and_percentages_in_words_equal_symbols() -> None:
    assert quantities("三分之一加上1/3") == Quantities(("1/3", "1/3"), ("+",))
    assert quantities("百分之五十") == quantities("50%")


def test_how_many_is_not_an_operator_but_more_and_less_are() -> None:
    assert quantities("小明有多少个苹果").operators == ()
    assert quantities("小红比小明多3个").operators == ("多",)
    assert quantities("小红比小明少3个").operators == ("少",)


def test_operators_are_compared_in_order() -> None:
    more_then_less = quantities("每只船乘10人,还多2个座位;若每只船少坐2人")
    less_then_more = quantities("每只船乘10人,还少2个座位;若每只船多坐2人")

    assert more_then_less.operators == ("×", "多", "少")
    assert less_then_more.operators == ("×", "少", "多")


def test_bigger_and_smaller_count_only_before_a_quantity() -> None:
    assert quantities("小明比小红大3岁").operators == (">",)
    assert quantities("小明比小红小3岁").operators == ("<",)
    assert quantities("爸爸比晶晶大多少岁").operators == (">",)
    assert quantities("大象和小明").operators == ()


def test_numbers_are_canonical_and_lone_yi_is_a_word() -> None:
    assert quantities("3.50+03").numbers == ("3.5", "3")
    assert quantities("一个数").numbers == ()
