"""Self-identification: which model, or which maker, a response claims to be.

Students distilled from a teacher's outputs often inherit its self-description ("I am
ChatGPT, a model trained by OpenAI"), so a suspect that names the reference's vendor as
its own maker is strong evidence. Only first-person claims count: a response that merely
talks about ChatGPT says nothing about what it is.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# (vendor, canonical model or None, aliases). Aliases in _CASE_SENSITIVE are ordinary words
# in lower case ("yi", "command", "meta") and only count when capitalised.
_ALIASES: list[tuple[str, str | None, tuple[str, ...]]] = [
    ("OpenAI", None, ("OpenAI", "Open AI")),
    ("OpenAI", "ChatGPT", ("ChatGPT", "Chat GPT")),
    ("OpenAI", "GPT-4o", ("GPT-4o", "GPT 4o", "GPT4o")),
    ("OpenAI", "GPT-4", ("GPT-4", "GPT 4", "GPT4")),
    ("OpenAI", "GPT-3.5", ("GPT-3.5", "GPT 3.5", "GPT3.5", "gpt-3.5-turbo")),
    ("OpenAI", "GPT-3", ("GPT-3", "GPT 3", "GPT3", "InstructGPT")),
    ("OpenAI", "davinci", ("text-davinci-003", "text-davinci-002", "davinci")),
    ("OpenAI", "GPT", ("GPT",)),
    ("Anthropic", None, ("Anthropic",)),
    ("Anthropic", "Claude", ("Claude",)),
    ("Google", None, ("Google DeepMind", "Google AI", "Google Brain", "Google", "DeepMind", "谷歌")),
    ("Google", "Gemini", ("Gemini",)),
    ("Google", "Bard", ("Bard",)),
    ("Google", "PaLM", ("PaLM 2", "PaLM")),
    ("Google", "Gemma", ("Gemma",)),
    ("Google", "LaMDA", ("LaMDA",)),
    ("Meta", None, ("Meta AI", "Meta", "Facebook AI", "Facebook", "FAIR")),
    ("Meta", "Llama", ("LLaMA", "Llama", "LLAMA")),
    ("Mistral AI", None, ("Mistral AI",)),
    ("Mistral AI", "Mistral", ("Mistral",)),
    ("Mistral AI", "Mixtral", ("Mixtral",)),
    ("Alibaba", None, ("Alibaba Cloud", "Alibaba", "阿里巴巴", "阿里云", "通义实验室")),
    ("Alibaba", "Qwen", ("Qwen", "Tongyi Qianwen", "通义千问", "千问", "通义")),
    ("DeepSeek", "DeepSeek", ("DeepSeek", "Deep Seek", "深度求索")),
    ("Microsoft", None, ("Microsoft Research", "Microsoft", "微软")),
    ("Microsoft", "Phi", ("Phi",)),
    ("Microsoft", "Copilot", ("Copilot", "Bing Chat")),
    ("Microsoft", "Orca", ("Orca",)),
    ("Microsoft", "WizardLM", ("WizardLM",)),
    ("Hugging Face", None, ("Hugging Face", "HuggingFace")),
    ("Hugging Face", "SmolLM", ("SmolLM",)),
    ("Hugging Face", "Zephyr", ("Zephyr",)),
    ("LMSYS", None, ("LMSYS", "Large Model Systems Organization")),
    ("LMSYS", "Vicuna", ("Vicuna",)),
    ("Stanford", None, ("Stanford University", "Stanford")),
    ("Stanford", "Alpaca", ("Alpaca",)),
    ("TII", None, ("Technology Innovation Institute", "TII")),
    ("TII", "Falcon", ("Falcon",)),
    ("01.AI", None, ("01.AI", "01.ai", "零一万物")),
    ("01.AI", "Yi", ("Yi",)),
    ("Zhipu", None, ("Zhipu AI", "Zhipu", "智谱AI", "智谱", "清华大学")),
    ("Zhipu", "GLM", ("ChatGLM", "GLM", "智谱清言")),
    ("Moonshot AI", None, ("Moonshot AI", "Moonshot", "月之暗面")),
    ("Moonshot AI", "Kimi", ("Kimi",)),
    ("Baidu", None, ("Baidu", "百度")),
    ("Baidu", "ERNIE", ("ERNIE Bot", "ERNIE", "文心一言", "文心")),
    ("xAI", None, ("xAI",)),
    ("xAI", "Grok", ("Grok",)),
    ("Cohere", None, ("Cohere",)),
    ("Cohere", "Command", ("Command R+", "Command R", "Command")),
    ("Cohere", "Aya", ("Aya",)),
    ("AI2", None, ("Allen Institute for AI", "Allen Institute for Artificial Intelligence", "AI2", "Ai2")),
    ("AI2", "OLMo", ("OLMo",)),
    ("AI2", "Tulu", ("Tülu", "Tulu")),
    ("LAION", None, ("LAION",)),
    ("LAION", "Open Assistant", ("OpenAssistant", "Open Assistant", "Open-Assistant")),
    ("Nous Research", None, ("Nous Research",)),
    ("Nous Research", "Hermes", ("Nous-Hermes", "Nous Hermes", "Hermes")),
    ("University of Washington", "Guanaco", ("Guanaco",)),
    ("Stability AI", None, ("Stability AI",)),
    ("Stability AI", "StableLM", ("StableLM",)),
    ("Databricks", None, ("Databricks",)),
    ("Databricks", "Dolly", ("Dolly", "DBRX")),
    ("Tencent", None, ("Tencent", "腾讯")),
    ("Tencent", "Hunyuan", ("Hunyuan", "混元")),
    ("ByteDance", None, ("ByteDance", "字节跳动")),
    ("ByteDance", "Doubao", ("Doubao", "豆包")),
    ("Baichuan", "Baichuan", ("Baichuan", "百川")),
    ("iFlytek", "Spark", ("iFlytek Spark", "讯飞星火", "科大讯飞", "iFlytek")),
    ("NVIDIA", None, ("NVIDIA", "Nvidia")),
    ("NVIDIA", "Nemotron", ("Nemotron",)),
    ("IBM", None, ("IBM",)),
    ("IBM", "Granite", ("Granite",)),
    ("Amazon", None, ("Amazon", "AWS")),
    ("Yandex", None, ("Yandex", "Яндекс")),
    ("Yandex", "YandexGPT", ("YandexGPT", "YaGPT")),
    ("Sber", None, ("Sber", "Сбер", "Сбербанк")),
    ("Sber", "GigaChat", ("GigaChat", "ГигаЧат")),
]
_CASE_SENSITIVE = frozenset(
    {
        "Yi",
        "Phi",
        "Command",
        "Falcon",
        "Alpaca",
        "Meta",
        "Bard",
        "Copilot",
        "Orca",
        "Zephyr",
        "Hermes",
        "Guanaco",
        "Vicuna",
        "Dolly",
        "Granite",
        "Grok",
        "Aya",
        "FAIR",
        "TII",
        "AI2",
        "Ai2",
        "GPT",
        "Kimi",
        "Gemini",
        "Mistral",
        "Amazon",
        "IBM",
        "AWS",
        "Facebook",
        "Stanford",
    }
)


@dataclass(frozen=True)
class IdentityClaim:
    """A first-person identity claim: the maker, the model if named, and the words that said so."""

    vendor: str | None
    model: str | None
    span: str


_BY_ALIAS = {alias.lower(): (vendor, model) for vendor, model, aliases in _ALIASES for alias in aliases}


def _trie(words: Iterable[str]) -> str:
    """One regex alternation factored by common prefixes: with some two hundred names, a
    plain ``a|b|c`` alternation makes scanning long responses a hundred times slower."""
    root: dict = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict) -> str:
        branches = [re.escape(char) + render(child) for char, child in sorted(node.items()) if char]
        if not branches:
            return ""
        body = "(?:" + "|".join(branches) + ")"
        return body + "?" if "" in node else body

    return render(root)


def _entity_alternation() -> str:
    """Names match case-insensitively except the common-word ones; Latin names need word
    boundaries, while CJK and Cyrillic text runs names into the surrounding words."""
    aliases = {a for _, _, names in _ALIASES for a in names}
    latin = {a for a in aliases if re.match(r"[A-Za-z0-9]", a)}
    folded = _trie({a.lower() for a in latin - _CASE_SENSITIVE})
    exact = _trie(latin & _CASE_SENSITIVE)
    bounded = rf"(?<![A-Za-z0-9_-])(?:{folded}|(?-i:{exact}))(?![A-Za-z0-9_])"
    return f"(?:{bounded}|{_trie(aliases - latin)})"


_ENTITY_ALT = _entity_alternation()
_E = f"(?P<e>{_ENTITY_ALT})"
_ENTITY_RE = re.compile(_ENTITY_ALT, re.IGNORECASE)

# Up to a few filler words, never a negation or another model's name ("I was talking to
# ChatGPT, made by OpenAI" is a mention).
_NEG = r"(?:not|never|no|unlike|different|distinct|separate|similar|nicht|kein\w*|pas|jamais|не|нет)"
_W = rf"(?:(?!{_NEG}\b)(?!(?:{_ENTITY_ALT}))[\w'-]+,?\s+)"
_I_AM = r"(?:\bI am|\bI'm)"
_AI_NOUN = (
    r"(?:model|assistant|AI|chatbot|chat bot|bot|LLM|system|agent|program|version|variant|iteration|"
    r"intelligence|language model|conversational AI|helper)"
)
_MADE = (
    r"(?:created|developed|trained|built|made|designed|fine-tuned|finetuned|programmed|released|"
    r"engineered|produced|owned|launched|invented)"
)
_BY_TEAM = r"(?:the\s+)?(?:(?:team|researchers|engineers|folks|people|company)\s+(?:at|of)\s+)?"

_PATTERNS_BY_LANGUAGE = {
    "en": [
        rf"{_I_AM}\s+(?:called\s+|named\s+|known as\s+|from\s+)?(?:the\s+)?{_E}",
        rf"\bmy name is\s+{_E}",
        rf"{_I_AM}\s+(?:an?\s+|the\s+)?{_W}{{0,4}}?{_AI_NOUN},?\s+(?:called|named|known as)\s+{_E}",
        rf"{_I_AM}\s+(?:an?\s+|the\s+)?{_W}{{0,4}}?{_AI_NOUN},?\s+(?:(?:that|which|who)\s+(?:was|has been|is)\s+)?"
        rf"(?:(?:originally|primarily|initially)\s+)?(?:{_MADE}\s+)?(?:by|from)\s+{_BY_TEAM}{_E}",
        rf"(?:\bI was|\bI've been|\bI have been|{_I_AM})\s+(?:(?:originally|primarily|initially|first|also)\s+)?"
        rf"{_MADE}\s+(?:and\s+\w+\s+)?by\s+{_BY_TEAM}{_E}",
        rf"\bAs an?\s+{_W}{{0,4}}?{_AI_NOUN},?\s+(?:{_MADE}\s+)?(?:by|from)\s+{_BY_TEAM}{_E}",
        rf"\bAs\s+{_E}(?:\s*,\s*(?:an?|the)\s[^,.!?\n]{{0,60}})?\s*,\s*I\b",
        rf"{_I_AM}\s+(?:(?:just|simply|actually|essentially)\s+)?(?:an?\s+)?"
        rf"(?:(?:fine-tuned|modified|customi[sz]ed|distilled)\s+)?(?:version|variant|instance|derivative)\s+of\s+"
        rf"(?:the\s+)?{_E}",
        rf"{_I_AM}\s+(?:based on|built on|built upon|powered by|running on|derived from)\s+(?:the\s+)?{_E}",
        rf"\bmy\s+(?:creators?|developers?|makers?|underlying model)\s+(?:is|are|was|were|at)\s+{_BY_TEAM}{_E}",
    ],
    "zh": [
        rf"(?:我是|我叫|我的名字(?:是|叫)|我名叫)\s*(?:由[^。！？\n]{{0,12}}?(?:开发|训练|创建|打造|研发|推出)的\s*)?{_E}",
        rf"我[^。！？\n]{{0,12}}?由\s*{_E}[^。！？\n]{{0,10}}?(?:开发|训练|创建|打造|研发|推出|设计|构建)",
        rf"我(?:是)?被\s*{_E}[^。！？\n]{{0,6}}?(?:开发|训练|创建|打造|研发|推出)",
        rf"作为(?:一个|一款|一名)?(?:由\s*)?{_E}[^。！？\n]{{0,10}}?(?:开发|训练|创建|打造|研发|推出)的",
        rf"作为\s*{_E}\s*[，,]",
    ],
    "es": [
        rf"\b(?:soy|me llamo|mi nombre es)\s+{_E}",
        rf"\b(?:soy|fui|he sido)\s+(?:un|una\s+)?\s*{_W}{{0,4}}?(?:cread|desarrollad|entrenad|diseñad)[oa]s?\s+por\s+"
        rf"(?:el equipo de\s+)?{_E}",
        rf"\bcomo\s+(?:un|una)\s+{_W}{{0,4}}?(?:cread|desarrollad|entrenad|diseñad)[oa]\s+por\s+{_E}",
    ],
    "fr": [
        rf"\b(?:je suis|je m'appelle|mon nom est)\s+{_E}",
        rf"\b(?:je suis|j'ai été)\s+(?:une?\s+)?{_W}{{0,4}}?(?:créé|développé|entraîné|conçu|formé)e?\s+par\s+"
        rf"(?:l'équipe de\s+)?{_E}",
        rf"\ben tant qu(?:e |')\s*{_W}{{0,4}}?(?:créé|développé|entraîné|conçu|formé)e?\s+par\s+{_E}",
    ],
    "de": [
        rf"\b(?:ich bin|ich heiße|mein name ist)\s+{_E}",
        rf"\bich (?:bin|wurde)\s+{_W}{{0,4}}?von\s+{_E}[^.!?\n]{{0,30}}?"
        rf"(?:entwickelt|trainiert|erstellt|geschaffen|entworfen|gebaut)",
        rf"\bals\s+(?:ein|eine|einer)?\s*von\s+{_E}\s+(?:entwickelt|trainiert|erstellt)",
    ],
    "ru": [
        rf"(?:^|[\s,.!?])я\s*(?:—|–|-)?\s*{_E}",
        rf"\bменя зовут\s+{_E}",
        rf"(?:^|[\s,.!?])я\s+(?:был|была|было)?\s*{_W}{{0,4}}?(?:создан|разработан|обучен)\w*\s+"
        rf"(?:компанией\s+|командой\s+)?{_E}",
        rf"\bкак\s+{_W}{{0,3}}?(?:созданн|разработанн|обученн)\w*\s+(?:компанией\s+)?{_E}",
    ],
    "ja": [
        rf"私は\s*{_E}\s*(?:です|だ|と申します|といいます|と呼ばれ)",
        rf"私の名前は\s*{_E}",
        rf"私は[^。！？\n]{{0,20}}?{_E}\s*(?:社)?(?:によって|が)[^。！？\n]{{0,10}}?(?:開発|作成|訓練|トレーニング|構築)",
    ],
}
_CLAIM_RES = [re.compile(p, re.IGNORECASE) for ps in _PATTERNS_BY_LANGUAGE.values() for p in ps]
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})
_WINDOW_BEFORE, _WINDOW_AFTER = 160, 90  # longest claim frame before / after the name


def claimed_identities(text: str | None) -> list[IdentityClaim]:
    """Every self-claim in ``text``, in reading order (a student may echo two makers).

    Claim patterns run only on a short window around each name mention, which keeps the
    cost proportional to the mentions rather than to the length of the text."""
    text = (text or "").translate(_APOSTROPHES)
    found: dict[int, IdentityClaim] = {}
    for mention in _ENTITY_RE.finditer(text):
        offset = max(0, mention.start() - _WINDOW_BEFORE)
        window = text[offset : mention.end() + _WINDOW_AFTER]
        for pattern in _CLAIM_RES:
            match = next((m for m in pattern.finditer(window) if offset + m.start("e") == mention.start()), None)
            if match:
                vendor, model = _BY_ALIAS[match.group("e").lower()]
                found[mention.start()] = IdentityClaim(vendor, model, match.group(0).strip(" ,.!?"))
                break
    return [found[k] for k in sorted(found)]


def claimed_identity(text: str | None) -> IdentityClaim | None:
    """The first self-claim, with the model filled in from a later claim about the same vendor
    ("I was created by Anthropic ... I'm Claude")."""
    claims = claimed_identities(text)
    if not claims:
        return None
    first = claims[0]
    if first.model is None:
        named = next((c for c in claims if c.vendor == first.vendor and c.model), None)
        if named:
            return IdentityClaim(first.vendor, named.model, first.span)
    return first


def identity_distribution(texts: Iterable[str | None]) -> dict[str, float]:
    """Share of ``texts`` whose first self-claim names each vendor; texts without a claim are in
    the denominator, so the shares sum to the claiming fraction, not to 1."""
    texts = list(texts)
    if not texts:
        return {}
    counts = Counter(claim.vendor for claim in map(claimed_identity, texts) if claim is not None)
    return {vendor: n / len(texts) for vendor, n in counts.most_common()}
