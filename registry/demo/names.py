"""Fictional Chinese names, drawn in bulk with numpy for a million people in seconds.

Faker's zh_CN provider would do, one name at a time; at 1.2 million people it costs a
minute, so the same kind of pools are sampled here as arrays.
"""

from __future__ import annotations

import numpy as np

# Common surnames, roughly in order of frequency (weights fall off with rank).
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚"
    "邵万钱严覃武戴莫孔向汤"
) + ["欧阳", "司马", "诸葛", "上官"]
GIVEN_CHARACTERS = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬斌宇浩凯健俊帆帅旭宁"
    "婷雪琳晨欣怡梓涵子轩一诺依泽雨萱思博文昊天佳琪嘉欣浩然梦瑶宏志建国建华国强德胜海波春梅秋菊"
    "冬梅晓东晓燕立新振华金龙玉兰永红少华丹丹颖慧敏捷鹏飞云峰晓峰春生长江汉卿楚楚"
)


def _surname_weights() -> np.ndarray:
    ranks = np.arange(1, len(SURNAMES) + 1, dtype=float)
    weights = 1.0 / ranks**0.9
    return weights / weights.sum()


def draw_names(rng: np.random.Generator, count: int) -> list[str]:
    """``count`` fictional full names: a surname and one or two given characters."""
    surnames = np.array(SURNAMES, dtype=object)[
        rng.choice(len(SURNAMES), size=count, p=_surname_weights())
    ]
    characters = np.array(GIVEN_CHARACTERS, dtype=object)
    first = characters[rng.integers(0, len(characters), size=count)]
    second = characters[rng.integers(0, len(characters), size=count)]
    two_characters = rng.random(count) < 0.7
    given = np.where(two_characters, first + second, first)
    return (surnames + given).tolist()
