from matching.text import normalise


def test_normalise_folds_full_width_and_drops_spaces_between_chinese() -> None:
    assert normalise("１２ ＋ ３４ ＝ ？ 小 明") == "12+34=?小明"


def test_normalise_keeps_one_space_between_ascii_words() -> None:
    assert normalise("Have  you finished\treading  it ?") == "have you finished reading it?"


def test_normalise_turns_latex_into_plain_symbols() -> None:
    given = "一堆煤$$2$$吨，每天用去它的$$\\frac{1}{25}$$，$$\\left( 3\\times 4 \\right)\\div 2$$"

    assert normalise(given) == "一堆煤2吨,每天用去它的1/25,(3×4)÷2"


def test_normalise_drops_the_exercise_numbering_in_front() -> None:
    assert normalise("1. 小数乘法") == "小数乘法"
    assert normalise("（2）240m长的马路") == "240m长的马路"
    assert normalise("第3题：12+5=") == "12+5="
    assert normalise("【$$2020$$五年级卷第$$33$$题】斯普林特老师") == "斯普林特老师"
    assert normalise("第2小题：6÷3/5") == "6÷3/5"
    assert normalise("试一试：计算下列各题") == normalise("3. 计算下列各题") == "计算下列各题"
    assert normalise("练一练第2题：12+5=") == "12+5="
    assert normalise("看一看图中有几个三角形？") == "看一看图中有几个三角形?"


def test_normalise_keeps_a_leading_decimal_and_the_number_after_numbering() -> None:
    assert normalise("3.5+2=?") == "3.5+2=?"
    assert normalise("1. ２个茶杯装一盒") == "2个茶杯装一盒"
