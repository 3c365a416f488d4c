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
_KAZAKH_LETTER = re.compile("[әғқңөұүһі]")

# Latin (the agencies' English and the official romanisation) -> Cyrillic, longest first;
# a vowel with y or i before a consonant is a diphthong (Kairat = Кайрат, Kostanay = Костанай)
# and a y or i before a vowel is a soft vowel (Mirziyoyev = Мирзиёев, Kosherbayev = Кошербаев)
_LATIN = [
    ("shch", "щ"),
    ("zh", "ж"),
    ("kh", "х"),
    ("ts", "ц"),
    ("ch", "ч"),
    ("sh", "ш"),
    ("ph", "ф"),
    ("ck", "к"),
    ("yu", "ю"),
    ("ya", "я"),
    ("yo", "е"),
    ("ye", "е"),
    ("ia$", "ия"),
    ("iy(?![aeiou])", "ий"),
    ("ai(?![aeiou])", "ай"),
    ("ay(?![aeiou])", "ай"),
    ("ey(?![aeiou])", "ей"),
    ("oy(?![aeiou])", "ой"),
    ("uy(?![aeiou])", "уй"),
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
_LATIN_RE = re.compile("|".join(latin for latin, _ in _LATIN))
_LATIN_MAP = {latin.split("(")[0].rstrip("$"): cyr for latin, cyr in _LATIN}

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


# Kazakh endings in the order they stack, outermost first: case (with the adjectival
# locative -дағы), possessive, plural; folded as `fold` writes them
_KAZAKH_LAYERS = [
    sorted(group.split(), key=len, reverse=True)
    for group in (
        """ндагы ндеги дагы деги тагы теги нын нин дын дин тын тин ндан нден дан ден тан тен
        нан нен нда нде менен мен бен пен га ге ка ке на не ны ни ды ди ты ти да де та те""",
        "сы си ы и",
        "лар лер дар дер тар тер",
    )
]


def _kazakh_roots(word: str) -> list[str]:
    """A folded Kazakh word and what is left as its endings come off, one layer at a time
    (at least three letters left): Қазақстанның -> казакстаннын, казакстан."""
    out = [word]
    for layer in _KAZAKH_LAYERS:
        for ending in layer:
            if word.endswith(ending) and len(word) - len(ending) >= 3:
                word = word[: -len(ending)]
                out.append(word)
                break
    return out


# The wire's common words in English and Kazakh, as the Russian word they translate: what a
# re-told story in another language shares besides names and numbers.  English keys are
# words (looked up by their Snowball stem); Kazakh keys are roots, looked up as the longest
# one that begins the folded word (Kazakh adds only endings: мектептерде = мектеп + тер + де).
_GLOSSARY_EN_WORDS = """
    president=президент presidential=президент prime=премьер premier=премьер
    minister=министр ministry=министерство government=правительство cabinet=правительство
    parliament=парламент senate=сенат senator=сенатор deputy=депутат lawmaker=депутат
    law=закон bill=законопроект amendment=поправка decree=указ sign=подписал signed=подписал
    meet=встреча met=встреча meeting=встреча talks=переговоры negotiations=переговоры
    negotiate=переговоры visit=визит official=официальный delegation=делегация
    agreement=соглашение deal=соглашение memorandum=меморандум treaty=договор
    cooperation=сотрудничество partnership=партнерство relations=отношения
    bilateral=двусторонний summit=саммит forum=форум council=совет session=заседание
    conference=конференция congress=съезд election=выборы vote=голосование
    referendum=референдум candidate=кандидат party=партия foreign=иностранный
    security=безопасность defence=оборона defense=оборона army=армия military=военный
    border=граница customs=таможня embassy=посольство ambassador=посол envoy=представитель
    representative=представитель special=специальный union=союз european=европейский
    eu=ес un=оон csto=одкб eaeu=еаэс sco=шос cis=снг
    economy=экономика economic=экономика growth=рост grow=рост rise=рост increase=рост
    fall=снижение decline=снижение drop=снижение cut=снижение reduce=снижение
    lower=снижение raise=повышение hike=повышение inflation=инфляция rate=ставка
    base=базовый currency=валюта dollar=доллар tenge=тенге ruble=рубль rouble=рубль
    euro=евро yuan=юань price=цена cost=стоимость tariff=тариф tax=налог budget=бюджет
    deficit=дефицит revenue=доход income=доход profit=прибыль debt=долг loan=кредит
    credit=кредит deposit=депозит bank=банк national=национальный central=центральный
    investment=инвестиции invest=инвестиции investor=инвестор fund=фонд pension=пенсия
    salary=зарплата wage=зарплата market=рынок trade=торговля turnover=товарооборот
    export=экспорт import=импорт production=производство produce=производство
    industry=промышленность industrial=промышленный factory=завод company=компания
    project=проект construction=строительство build=строительство built=строительство
    infrastructure=инфраструктура oil=нефть gas=газ coal=уголь uranium=уран
    energy=энергетика electricity=электроэнергия nuclear=атомный wind=ветер solar=солнечный
    heating=отопление heat=тепло water=вода grain=зерно wheat=пшеница harvest=урожай
    agriculture=сельское agricultural=сельское farmer=фермер livestock=скот cattle=скот
    barrel=баррель quota=квота exceed=превысил overshoot=превысил meat=мясо fuel=топливо
    gasoline=бензин petrol=бензин diesel=дизельное car=автомобиль
    vehicle=автомобиль sales=продажи sold=продажи tourism=туризм tourist=турист
    transit=транзит railway=железнодорожный rail=железнодорожный train=поезд
    flight=рейс airline=авиакомпания carrier=авиакомпания aircraft=самолет plane=самолет
    airport=аэропорт passenger=пассажир cargo=груз freight=груз road=дорога
    highway=трасса bridge=мост port=порт digital=цифровой technology=технология
    internet=интернет artificial=искусственный intelligence=интеллект satellite=спутник
    launch=запуск rocket=ракета space=космос cosmodrome=космодром scientist=ученые
    science=наука research=исследование university=университет student=студент
    school=школа teacher=учитель education=образование pupil=ученики children=дети
    child=дети health=здравоохранение healthcare=здравоохранение hospital=больница
    doctor=врач patient=пациент vaccine=вакцина vaccination=вакцинация flu=грипп
    influenza=грипп measles=корь disease=заболевание weather=погода snow=снег
    snowfall=снегопад blizzard=метель storm=шторм warning=предупреждение frost=мороз
    cold=холод temperature=температура rain=дождь fog=туман ice=гололед flood=паводок
    earthquake=землетрясение quake=землетрясение tremor=толчки magnitude=магнитуда
    epicentre=эпицентр epicenter=эпицентр fire=пожар blaze=пожар firefighter=пожарные
    rescuer=спасатели emergency=чрезвычайный evacuate=эвакуированы accident=авария
    crash=авария collision=столкновение collide=столкновение kill=погибли killed=погибли
    dead=погибли die=погибли died=погибли death=погибли injure=пострадали
    injured=пострадали hurt=пострадали victim=пострадали police=полиция arrest=задержан
    detain=задержан court=суд sentence=приговор prison=тюрьма fine=штраф
    corruption=коррупция bribe=взятка investigation=расследование criminal=уголовное
    fraud=мошенничество scammer=мошенники fraudster=мошенники crime=преступление
    prosecutor=прокурор driver=водитель bus=автобус truck=грузовик
    match=матч game=матч win=победа won=победа victory=победа beat=победа
    defeat=поражение lose=поражение lost=поражение draw=ничья goal=гол team=команда
    club=клуб cup=кубок championship=чемпионат champion=чемпион final=финал
    semifinal=полуфинал quarterfinal=четвертьфинал tournament=турнир medal=медаль
    gold=золото silver=серебро bronze=бронза boxer=боксер boxing=бокс football=футбол
    hockey=хоккей tennis=теннис wrestling=борьба olympic=олимпийский athlete=спортсмен
    coach=тренер player=игрок season=сезон festival=фестиваль exhibition=выставка
    concert=концерт film=фильм movie=фильм theatre=театр theater=театр museum=музей
    book=книга award=премия prize=премия anniversary=юбилей housing=жилье
    apartment=квартиры family=семья citizen=граждане resident=жители population=население
    migrant=мигранты worker=работник employment=занятость job=работа
    unemployment=безработица social=социальный protection=защита benefit=пособие
    phone=телефон smartphone=смартфон ban=запрет prohibit=запрет new=новый first=первый
    second=второй month=месяц week=неделя city=город region=область district=район
    village=село capital=столица country=страна republic=республика
    international=международный world=мир north=север south=юг east=восток west=запад
    committee=комитет department=департамент chairman=председатель director=директор
    akim=аким mayor=аким governor=аким administration=акимат
    january=январь jan=январь february=февраль feb=февраль march=март april=апрель
    apr=апрель may=май june=июнь july=июль august=август aug=август september=сентябрь
    sept=сентябрь october=октябрь oct=октябрь november=ноябрь nov=ноябрь
    december=декабрь dec=декабрь thousand=тысяча million=миллион billion=миллиард
    trillion=триллион percent=процент china=китай chinese=китайский russia=россия
    russian=российский uzbek=узбекский kyrgyz=кыргызский turkey=турция turkish=турецкий
    japan=япония japanese=японский korea=корея korean=корейский india=индия
    germany=германия german=немецкий france=франция french=французский italy=италия
    italian=итальянский britain=великобритания british=британский uk=великобритания
    us=сша usa=сша american=американский australia=австралия asia=азия asian=азия
    europe=европа kazakhstani=казахстанский
"""
_GLOSSARY_KK_WORDS = """
    мемлекет=государство үкімет=правительство министр=министр министрлік=министерство
    парламент=парламент сенат=сенат мәжіліс=мажилис депутат=депутат заң=закон жоба=проект
    қол=подписал келіссөз=переговоры кездес=встреча сапар=визит ресми=официальный
    келісім=соглашение ынтымақтас=сотрудничество әріптес=партнерство саммит=саммит
    форум=форум кеңес=совет отырыс=заседание сайлау=выборы дауыс=голосование
    сыртқы=иностранный қауіпсіздік=безопасность қорғаныс=оборона әскер=армия
    шекара=граница кеден=таможня елші=посол өкіл=представитель арнайы=специальный
    одақ=союз еуропа=европа халықаралық=международный әлем=мир облыс=область
    аудан=район қала=город ауыл=село әкім=аким әкімдік=акимат төраға=председатель
    ұлттық=национальный орталық=центральный мөлшерлеме=ставка базалық=базовый
    бағам=курс баға=цена құн=стоимость валюта=валюта доллар=доллар теңге=тенге
    рубль=рубль тариф=тариф салық=налог бюджет=бюджет тапшылық=дефицит кіріс=доход
    табыс=доход пайда=прибыль қарыз=долг несие=кредит депозит=депозит банк=банк
    инвестиция=инвестиции инвестор=инвестор зейнетақы=пенсия жалақы=зарплата
    нарық=рынок сауда=торговля экспорт=экспорт импорт=импорт өндіріс=производство
    өндір=производство өнеркәсіп=промышленность зауыт=завод кәсіпорын=предприятие
    құрылыс=строительство инфляция=инфляция өсім=рост өсті=рост артты=рост
    төмендеді=снижение төмендеу=снижение азайды=снижение көтер=повышение мұнай=нефть
    газ=газ көмір=уголь уран=уран энергетика=энергетика электр=электроэнергия
    атом=атомный жел=ветер жылу=тепло жылыту=отопление астық=зерно
    бидай=пшеница егін=урожай шаруашылық=хозяйство фермер=фермер мал=скот
    жанармай=топливо отын=топливо бензин=бензин көлік=автомобиль автокөлік=автомобиль
    сату=продажи сатыл=продажи туризм=туризм турист=турист транзит=транзит
    теміржол=железнодорожный пойыз=поезд ұшақ=самолет әуежай=аэропорт әуекомпания=авиакомпания
    рейс=рейс жолаушы=пассажир жүк=груз жол=дорога тасжол=трасса автожол=дорога
    көпір=мост цифрлық=цифровой технология=технология жасанды=искусственный
    ұшыр=запуск зымыран=ракета ғарыш=космос ғалым=ученые ғылым=наука зерттеу=исследование
    университет=университет студент=студент мектеп=школа оқушы=ученики мұғалім=учитель
    білім=образование бала=дети денсаулық=здравоохранение аурухана=больница
    дәрігер=врач емхана=поликлиника науқас=пациент вакцина=вакцина екпе=прививка
    тұмау=грипп қызылша=корь ауру=заболевание ауа=погода боран=метель
    дауыл=шторм ескерту=предупреждение аяз=мороз суық=холод температура=температура
    жаңбыр=дождь тұман=туман көктайғақ=гололед тасқын=паводок сілкініс=землетрясение
    магнитуда=магнитуда эпицентр=эпицентр өрт=пожар өртсөндіруші=пожарные
    құтқарушы=спасатели төтенше=чрезвычайный эвакуация=эвакуированы апат=авария
    соқтығыс=столкновение қаза=погибли мерт=погибли зардап=пострадали жарақат=пострадали
    полиция=полиция ұста=задержан қамау=арест сот=суд үкім=приговор айыппұл=штраф
    жемқор=коррупция пара=взятка тергеу=расследование қылмыстық=уголовное
    алаяқ=мошенники қылмыс=преступление прокурор=прокурор жүргізуші=водитель
    автобус=автобус матч=матч ойын=матч жеңіс=победа жеңді=победа жеңіп=победа
    жеңіл=поражение тең=ничья гол=гол команда=команда құрама=сборная клуб=клуб
    кубок=кубок чемпионат=чемпионат чемпион=чемпион финал=финал турнир=турнир
    медаль=медаль алтын=золото күміс=серебро қола=бронза боксшы=боксер бокс=бокс
    футбол=футбол хоккей=хоккей теннис=теннис күрес=борьба олимпиада=олимпийский
    спортшы=спортсмен бапкер=тренер ойыншы=игрок фестиваль=фестиваль көрме=выставка
    концерт=концерт фильм=фильм театр=театр мұражай=музей кітап=книга сыйлық=премия
    мерейтой=юбилей пәтер=квартиры отбасы=семья азамат=граждане тұрғын=жители
    халық=население жұмыс=работа әлеуметтік=социальный қорға=защита жәрдемақы=пособие
    тыйым=запрет рұқсат=разрешение ереже=правила жаңа=новый бірінші=первый екінші=второй
    апта=неделя аймақ=регион республика=республика солтүстік=север
    оңтүстік=юг шығыс=восток батыс=запад комитет=комитет департамент=департамент
    басқарма=управление директор=директор смартфон=смартфон телефон=телефон
    қаңтар=январь ақпан=февраль наурыз=март сәуір=апрель мамыр=май шілде=июль
    тамыз=август қыркүйек=сентябрь қазан=октябрь қараша=ноябрь желтоқсан=декабрь
    мың=тысяча миллион=миллион миллиард=миллиард триллион=триллион пайыз=процент
    қытай=китай ресей=россия өзбек=узбекский өзбекстан=узбекистан тәжік=таджикистан
    түрікмен=туркменистан әзербайжан=азербайджан түркия=турция жапония=япония
    үндістан=индия ұлыбритания=великобритания ақш=сша азия=азия моңғолия=монголия
"""
# a Kazakh root shorter than this matches only the word, or the word less its endings
_KK_PREFIX_MIN = 5


def _table(text: str) -> list[tuple[str, str]]:
    return [(key, value) for key, _, value in (pair.partition("=") for pair in text.split())]


@functools.cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def fold(text: str) -> str:
    """Lower case, ё = е, Kazakh letters as their Russian look-alikes."""
    folded = text.casefold().replace("ё", "е")
    # str.translate looks every character up in a dict (10 µs for a lead): only a text
    # with a Kazakh letter needs it, and a regex finds none in a Russian text in 1 µs
    return folded.translate(KAZAKH_FOLD) if _KAZAKH_LETTER.search(folded) else folded


def cyrillic(word: str) -> str:
    """A folded Latin word as the Cyrillic it transliterates (tokayev -> токаев)."""
    return _LATIN_RE.sub(lambda m: _LATIN_MAP[m.group()], word)


_GLOSSARY_EN = {
    str(_stemmer("english").stemWord(key)): value for key, value in _table(_GLOSSARY_EN_WORDS)
}
_GLOSSARY_KK = {fold(key): value for key, value in _table(_GLOSSARY_KK_WORDS)}
_KK_LONGEST = max(map(len, _GLOSSARY_KK))


def translated(word: str, lang: str | None) -> str:
    """A common wire word of English or Kazakh as the Russian word it translates (else the
    word itself; a Kazakh word without its endings)."""
    if lang == "en" and word.isascii():
        return _GLOSSARY_EN.get(str(_stemmer("english").stemWord(word)), word)
    if lang == "kk":
        roots = _kazakh_roots(word)
        for root in roots:
            if root in _GLOSSARY_KK:
                return _GLOSSARY_KK[root]
        for size in range(min(len(word), _KK_LONGEST), _KK_PREFIX_MIN - 1, -1):
            if word[:size] in _GLOSSARY_KK:
                return _GLOSSARY_KK[word[:size]]
        return kazakh_base(word)
    return word


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
    # findall: (number, word) pairs, one of them empty — no match objects to ask
    return [
        number(figure) if figure else word
        for figure, word in _TOKEN.findall(fold(text).replace("’", "'"))
    ]


def terms(text: str, lang: str | None = None) -> list[str]:
    """The terms of ``text``, in order: stems of the words that are not stop words, and
    the numbers.  ``lang`` "kk": Kazakh endings come off first (Мирзиёевпен = Мирзиёев)."""
    return [_term(token, lang) for token in tokens(text) if token not in STOP_WORDS]


@functools.lru_cache(maxsize=65536)
def _term(word: str, lang: str | None) -> str:
    """One folded word's term (an English possessive is the name: Kazakhstan's)."""
    if word.endswith("'s"):
        word = word[:-2]
    return stem(fold(translated(word, lang)))
