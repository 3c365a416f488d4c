"""Words as matching sees them (pure): the terms search and story grouping compare.

One word of a title or summary becomes one *term*, so that the forms an agency happens to
write compare equal:

* case and ё are folded, Kazakh letters to their Russian look-alikes (ә→а, ғ→г, қ→к, ң→н,
  ө→о, ұ/ү→у, һ→х, і→и): Тоқаев = Токаев;
* a Latin word is read as the Cyrillic it transliterates (Tokayev → токаев, Astana →
  астана), so names and places match across ru/kk/en;
* Russian (and folded Kazakh) words are stemmed with Snowball (PyStemmer), repeated until
  the stem stops changing: one pass stems "Токаев" to "тока" but "Токаева" to "токаев";
  to a fixed point both are "ток" (выборы = выборов = выборах, Нацбанк = Нацбанка);
* numbers are written one way: "16,5" = "16.5", "1 000" = "1000".

Stop words (the wire's "сообщает", "заявил", prepositions …) give no term.
"""

from __future__ import annotations

import functools
import re

import Stemmer

KAZAKH_FOLD = str.maketrans("әғқңөұүһі", "агкноуухи")

# Latin (the agencies' English and the official romanisation) -> Cyrillic, longest first
_LATIN = [
    ("shch", "щ"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ts", "ц"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("yu", "ю"),
    ("ya", "я"),
    ("yo", "е"),
    ("ye", "е"),
    ("iy", "ий"),
    ("a", "а"),
    ("b", "б"),
    ("c", "к"),
    ("d", "д"),
    ("e", "е"),
    ("f", "ф"),
    ("g", "г"),
    ("h", "х"),
    ("i", "и"),
    ("j", "ж"),
    ("k", "к"),
    ("l", "л"),
    ("m", "м"),
    ("n", "н"),
    ("o", "о"),
    ("p", "п"),
    ("q", "к"),
    ("r", "р"),
    ("s", "с"),
    ("t", "т"),
    ("u", "у"),
    ("v", "в"),
    ("w", "в"),
    ("x", "кс"),
    ("y", "ы"),
    ("z", "з"),
]
_LATIN_RE = re.compile("|".join(re.escape(latin) for latin, _ in _LATIN))
_LATIN_MAP = dict(_LATIN)

# a word: letters (any script) and inner hyphens/apostrophes; a number: digits with a decimal
# comma or point and thin/normal spaces between thousands
_TOKEN = re.compile(
    r"(?P<number>\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?:[.,]\d+)?|\d+(?:[.,]\d+)?)"
    r"|(?P<word>[^\W\d_]+(?:['’-][^\W\d_]+)*)"
)

STOP_WORDS = frozenset(
    """
    а без более бы был была были было быть в вам вас весь во вот все всех вы где да даже для
    до его ее если есть еще же за и из или им их к как когда кто ли либо между мы на над не
    него нее нет ни но ну о об однако он она они оно от по под после при про с со так также
    такой там то того тоже той только том ту ты у уже хотя чем что чтобы эта эти это этот я
    сообщает сообщил сообщила сообщили заявил заявила заявили отметил отметила рассказал
    рассказала передает передаёт пишет корреспондент агентство агентства глава года году
    the a an of in on at to for and or by with from is are was were be has have had its it
    as that this which said says will after about over into
    және мен бен пен да де та те үшін бойынша туралы деп бұл осы ол олар
    """.split()
)


# Kazakh case, plural and possessive endings, as `fold` writes them (ң -> н, і -> и, ғ -> г,
# қ -> к), longest first: Мирзиёевпен, Тоқаевтың, Астанада, Қазақстанның -> the name
_KAZAKH_ENDINGS = sorted(
    """
    лардын лердин дардын дердин тардын тердин лармен лермен дармен дермен
    нын нин дын дин тын тин пен мен бен нан нен дан ден тан тен нда нде лар лер дар дер тар
    тер га ге ка ке на не ды ди ты ти ны ни да де та те
    """.split(),
    key=len,
    reverse=True,
)


def kazakh_base(word: str) -> str:
    """A folded Kazakh word without its case, plural or possessive ending (one ending, and
    at least four letters are left)."""
    for ending in _KAZAKH_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


# The wire's common words in English and Kazakh, as the Russian word they translate: what a
# re-told story in another language shares besides names and numbers.  Keys: an English
# word's Snowball stem, a Kazakh word folded without its ending.
_GLOSSARY_EN = {
    "rate": "ставка",
    "base": "базовый",
    "bank": "банк",
    "nation": "национальный",
    "central": "центральный",
    "inflat": "инфляция",
    "price": "цена",
    "oil": "нефть",
    "dollar": "доллар",
    "tenge": "тенге",
    "earthquak": "землетрясение",
    "magnitud": "магнитуда",
    "talk": "переговоры",
    "negoti": "переговоры",
    "presid": "президент",
    "meet": "встреча",
    "elect": "выборы",
    "minist": "министр",
    "govern": "правительство",
    "parliament": "парламент",
    "senat": "сенат",
    "court": "суд",
    "polic": "полиция",
    "fire": "пожар",
    "accid": "авария",
    "crash": "авария",
    "weather": "погода",
    "snow": "снег",
    "storm": "буря",
    "water": "вода",
    "energi": "энергетика",
    "cooper": "сотрудничество",
    "invest": "инвестиции",
    "agreement": "соглашение",
    "visit": "визит",
    "trade": "торговля",
    "export": "экспорт",
    "import": "импорт",
    "gas": "газ",
    "grain": "зерно",
    "wheat": "пшеница",
    "flight": "рейс",
    "airport": "аэропорт",
    "road": "дорога",
    "bus": "автобус",
    "school": "школа",
    "hospit": "больница",
    "match": "матч",
    "win": "победа",
    "champion": "чемпионат",
    "medal": "медаль",
    "festiv": "фестиваль",
    "exhibit": "выставка",
    "law": "закон",
    "tax": "налог",
    "budget": "бюджет",
    "summit": "саммит",
    "forum": "форум",
    "sanction": "санкции",
    "kill": "погибли",
    "dead": "погибли",
    "die": "погибли",
    "injur": "пострадали",
}
_GLOSSARY_KK = {
    "молшерлеме": "ставка",
    "базалык": "базовый",
    "банк": "банк",
    "улттык": "национальный",
    "инфляция": "инфляция",
    "баг": "цена",
    "мунай": "нефть",
    "доллар": "доллар",
    "тенге": "тенге",
    "жер": "земля",
    "силкиниси": "землетрясение",
    "келиссоз": "переговоры",
    "президент": "президент",
    "кездесу": "встреча",
    "сайлау": "выборы",
    "министр": "министр",
    "укимет": "правительство",
    "парламент": "парламент",
    "мажилис": "мажилис",
    "сот": "суд",
    "полиция": "полиция",
    "орт": "пожар",
    "апат": "авария",
    "ауа": "погода",
    "кар": "снег",
    "су": "вода",
    "энергетика": "энергетика",
    "ынтымактастык": "сотрудничество",
    "инвестиция": "инвестиции",
    "келисим": "соглашение",
    "сапар": "визит",
    "сауда": "торговля",
    "экспорт": "экспорт",
    "астык": "зерно",
    "бидай": "пшеница",
    "жол": "дорога",
    "мектеп": "школа",
    "аурухана": "больница",
    "матч": "матч",
    "чемпионат": "чемпионат",
    "медаль": "медаль",
    "заң": "закон",
    "салык": "налог",
    "бюджет": "бюджет",
    "саммит": "саммит",
    "форум": "форум",
    "мемлекет": "государство",
    "басшы": "глава",
}


def translated(word: str, lang: str | None) -> str:
    """A common wire word of English or Kazakh as the Russian word it translates (else the
    word itself)."""
    if lang == "en" and word.isascii():
        return _GLOSSARY_EN.get(str(_stemmer("english").stemWord(word)), word)
    if lang == "kk":
        return _GLOSSARY_KK.get(word, word)
    return word


@functools.cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def fold(text: str) -> str:
    """Lower case, ё = е, Kazakh letters as their Russian look-alikes."""
    return text.casefold().replace("ё", "е").translate(KAZAKH_FOLD)


def cyrillic(word: str) -> str:
    """A folded Latin word as the Cyrillic it transliterates (tokayev -> токаев)."""
    return _LATIN_RE.sub(lambda m: _LATIN_MAP[m.group()], word)


# Kazakh (and its romanisation) writes some names otherwise than Russian: one spelling each
_PREFIX_ALIASES = (("казак", "казах"),)


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A folded word's stem: Russian Snowball, repeated to a fixed point (at most 4 passes).
    A Latin word is transliterated first.  Numbers are returned as they are."""
    if not word or word[0].isdigit():
        return word
    if word.isascii():
        word = cyrillic(word)
    for written, usual in _PREFIX_ALIASES:
        if word.startswith(written):
            word = usual + word[len(written) :]
    stemmer = _stemmer("russian")
    for _ in range(4):
        shorter = str(stemmer.stemWord(word))
        if shorter == word or len(shorter) < 2:
            break
        word = shorter
    return word


def number(text: str) -> str:
    """A number one way: no thousands spaces, a decimal point, no trailing ".0"."""
    value = re.sub(r"[ \u00a0\u202f]", "", text).replace(",", ".")
    if "." in value:
        value = value.rstrip("0").rstrip(".")
    return value


def tokens(text: str) -> list[str]:
    """The folded words and numbers of ``text``, in order (stop words kept)."""
    out = []
    for match in _TOKEN.finditer(fold(text)):
        if match.group("number") is not None:
            out.append(number(match.group("number")))
        else:
            out.append(match.group("word").replace("’", "'"))
    return out


def terms(text: str, lang: str | None = None) -> list[str]:
    """The terms of ``text``, in order: stems of the words that are not stop words, and
    the numbers.  ``lang`` "kk": Kazakh endings come off first (Мирзиёевпен = Мирзиёев)."""
    words = [token for token in tokens(text) if token not in STOP_WORDS]
    if lang == "kk":
        words = [kazakh_base(word) for word in words]
    return [stem(fold(translated(word, lang))) for word in words]
