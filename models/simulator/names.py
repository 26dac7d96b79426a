"""Names of people and companies, and the Latin spelling used for their e-mail addresses.

Russian surnames agree with gender (Петров / Петрова, Сокольский / Сокольская); those
that do not change (Шевченко, Ким, Черных) stay as they are.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import numpy as np
from numpy.typing import NDArray

MALE: Final = (
    "Александр", "Алексей", "Андрей", "Антон", "Артём", "Борис", "Вадим", "Василий",
    "Виктор", "Владимир", "Всеволод", "Георгий", "Григорий", "Даниил", "Денис", "Дмитрий",
    "Евгений", "Егор", "Иван", "Игорь", "Илья", "Кирилл", "Константин", "Лев", "Максим",
    "Матвей", "Михаил", "Никита", "Николай", "Олег", "Павел", "Роман", "Руслан", "Семён",
    "Сергей", "Станислав", "Степан", "Тимур", "Фёдор", "Юрий", "Ярослав",
)  # fmt: skip
FEMALE: Final = (
    "Александра", "Алёна", "Алина", "Алиса", "Анастасия", "Анна", "Валентина", "Варвара",
    "Вера", "Виктория", "Галина", "Дарья", "Диана", "Евгения", "Екатерина", "Елена",
    "Елизавета", "Жанна", "Зоя", "Инна", "Ирина", "Кира", "Ксения", "Лариса", "Любовь",
    "Людмила", "Маргарита", "Марина", "Мария", "Надежда", "Наталья", "Нина", "Ольга",
    "Полина", "Светлана", "София", "Татьяна", "Ульяна", "Юлия", "Яна",
)  # fmt: skip
SURNAMES: Final = (
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов",
    "Новиков", "Фёдоров", "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров",
    "Павлов", "Козлов", "Степанов", "Николаев", "Орлов", "Андреев", "Макаров", "Никитин",
    "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев", "Романов",
    "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв",
    "Гусев", "Киселёв", "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв",
    "Белов", "Медведев", "Антонов", "Тарасов", "Жуков", "Баранов", "Филиппов", "Комаров",
    "Давыдов", "Беляев", "Герасимов", "Богданов", "Осипов", "Сидоров", "Матвеев", "Титов",
    "Марков", "Миронов", "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов",
    "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Сокольский", "Вишневский",
    "Трубецкой", "Толстой", "Шевченко", "Ткаченко", "Бондаренко", "Ким", "Черных",
    "Седых", "Гарипов", "Хабибуллин", "Сафин", "Галиев",
)  # fmt: skip
EN_FIRST_MALE: Final = (
    "James", "John", "Robert", "Michael", "David", "Thomas", "Daniel", "Mark", "Paul",
    "Steven", "Andrew", "Peter", "George", "Oliver", "Henry",
)  # fmt: skip
EN_FIRST_FEMALE: Final = (
    "Mary", "Emma", "Olivia", "Sarah", "Emily", "Anna", "Laura", "Rachel", "Sophie",
    "Hannah", "Kate", "Lucy", "Claire", "Alice", "Grace",
)  # fmt: skip
EN_SURNAMES: Final = (
    "Smith", "Johnson", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Clarke", "Walker",
    "Wright", "Baker", "Hall", "Green", "Hughes", "Lewis", "Turner", "Miller", "Cooper",
)  # fmt: skip
COMPANY_WORDS: Final = (
    "Ромашка", "Вектор", "Альянс", "Техносервис", "СтройМаркет", "Прогресс", "Гранит",
    "Меридиан", "Северная звезда", "Восток-Логистик", "Капитал", "Интеграл", "Парус",
    "Солнечный берег", "ТрансКом", "АгроПром", "Сибирские узоры", "Лидер", "Орбита",
    "Эталон", "Волга-Сервис", "Уральский камень", "Фортуна", "Атлант", "Белый медведь",
    "Кедр", "Профиль", "Стандарт", "Энергия", "Цифровые решения", "Домашний уют",
    "Медицинский центр Здоровье", "Автодеталь", "Хлебный дом", "Городские окна",
)  # fmt: skip
COMPANY_FORMS: Final = ("ООО", "ООО", "ООО", "ООО", "АО", "ИП")

_TRANSLIT: Final = dict(
    zip(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
        "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch - y - e yu ya".split(),
        strict=True,
    )
)


def feminine(surname: str) -> str:
    """The feminine form of a masculine Russian surname."""
    for male, female in (("ский", "ская"), ("цкий", "цкая"), ("ой", "ая")):
        if surname.endswith(male):
            return surname[: -len(male)] + female
    if surname.endswith(("ов", "ев", "ёв", "ин", "ын")):
        return surname + "а"
    return surname


@lru_cache(maxsize=4096)
def latin(text: str) -> str:
    """A lower-case ASCII spelling of Russian text, as people write it in logins."""
    out = []
    for char in text.lower():
        if char in _TRANSLIT:
            mapped = _TRANSLIT[char]
            out.append("" if mapped == "-" else mapped)
        elif char.isascii() and char.isalnum():
            out.append(char)
    return "".join(out)


def people(
    rng: np.random.Generator, female: NDArray[np.bool_], english: NDArray[np.bool_]
) -> list[tuple[str, str]]:
    """(first name, surname) of many people at once."""
    n = len(female)
    first_u, last_u = rng.random(n), rng.random(n)
    out = []
    for i, (fem, eng) in enumerate(zip(female.tolist(), english.tolist(), strict=True)):
        if eng:
            first = _at(EN_FIRST_FEMALE if fem else EN_FIRST_MALE, first_u[i])
            out.append((first, _at(EN_SURNAMES, last_u[i])))
        else:
            surname = _at(SURNAMES, last_u[i])
            first = _at(FEMALE if fem else MALE, first_u[i])
            out.append((first, feminine(surname) if fem else surname))
    return out


def companies(rng: np.random.Generator, n: int) -> list[tuple[str, str]]:
    """(legal name, short Latin slug for its addresses) of many companies at once."""
    form_u, word_u, owner_u, initial_u, female = rng.random((5, n))
    out = []
    for i in range(n):
        form = _at(COMPANY_FORMS, form_u[i])
        if form == "ИП":
            surname = _at(SURNAMES, owner_u[i])
            fem = female[i] < 0.35
            first = _at(FEMALE if fem else MALE, word_u[i])
            # The patronymic's initial is the father's name's.
            father = _at(MALE, initial_u[i])
            owner = feminine(surname) if fem else surname
            out.append((f"ИП {owner} {first[0]}. {father[0]}.", latin(owner)))
        else:
            word = _at(COMPANY_WORDS, word_u[i])
            out.append((f"{form} «{word}»", latin(word.split()[-1])))
    return out


def _at(pool: tuple[str, ...], u: float) -> str:
    return pool[int(u * len(pool))]
