"""Self-identification: first-person claims in several languages count, mentions do not."""

from __future__ import annotations

import pytest

from forensics.features.identity import IdentityClaim, claimed_identities, claimed_identity, identity_distribution

SELF_CLAIMS = [
    ("I am ChatGPT, a model by OpenAI.", "OpenAI", "ChatGPT"),
    ("Hi! I'm Claude, an AI assistant made by Anthropic.", "Anthropic", "Claude"),
    ("I was created by Anthropic to be helpful and honest.", "Anthropic", None),
    ("As an AI developed by Google, I don't have personal experiences.", "Google", None),
    ("Hello! I'm a large language model, trained by Google.", "Google", None),
    ("As an AI language model developed by OpenAI, I do not have opinions.", "OpenAI", None),
    ("I am GPT-4o, the latest model.", "OpenAI", "GPT-4o"),
    ("I'm a fine-tuned version of Llama 2.", "Meta", "Llama"),
    ("My name is Vicuna, trained by researchers from LMSYS.", "LMSYS", "Vicuna"),
    ("As ChatGPT, I can help you draft that email.", "OpenAI", "ChatGPT"),
    ("I am Yi, built by 01.AI.", "01.AI", "Yi"),
    ("我是通义千问，由阿里云开发的大规模语言模型。", "Alibaba", "Qwen"),
    ("我是由深度求索公司开发的AI助手。", "DeepSeek", "DeepSeek"),
    ("作为一个由OpenAI开发的语言模型，我无法浏览网页。", "OpenAI", None),
    ("我是文心一言，百度研发的知识增强大语言模型。", "Baidu", "ERNIE"),
    ("Soy ChatGPT, un modelo de lenguaje creado por OpenAI.", "OpenAI", "ChatGPT"),
    ("Fui desarrollado por Mistral AI.", "Mistral AI", None),
    ("Je suis Claude, un assistant conçu par Anthropic.", "Anthropic", "Claude"),
    ("J'ai été entraîné par Google.", "Google", None),
    ("Ich bin ein Sprachmodell, das von OpenAI entwickelt wurde.", "OpenAI", None),
    ("Ich bin Gemini, ein Modell von Google.", "Google", "Gemini"),
    ("Я — ChatGPT, языковая модель от OpenAI.", "OpenAI", "ChatGPT"),
    ("Меня зовут Claude.", "Anthropic", "Claude"),
    ("Я был создан компанией OpenAI.", "OpenAI", None),
    ("私はChatGPTです。", "OpenAI", "ChatGPT"),
    ("私はOpenAIによって開発されたAIアシスタントです。", "OpenAI", None),
]

MENTIONS = [
    "ChatGPT is a chatbot made by OpenAI.",
    "I am not ChatGPT; I am an independent assistant.",
    "I was talking to ChatGPT, made by OpenAI, yesterday.",
    "I'm a big fan of Claude, made by Anthropic.",
    "Llama is a family of models released by Meta.",
    "I am a different system from ChatGPT.",
    "Unlike GPT-4, I am an open model.",
    "I am a Gemini, born in June.",
    "通义千问是阿里巴巴开发的模型。",
    "ChatGPT es un modelo creado por OpenAI.",
    "Claude est un assistant conçu par Anthropic.",
    "Gemini ist ein Modell von Google.",
    "Here is a summary of how GPT-4 was trained by OpenAI.",
    "",
    None,
]


@pytest.mark.parametrize("text,vendor,model", SELF_CLAIMS)
def test_self_claims(text, vendor, model):
    claim = claimed_identity(text)
    assert isinstance(claim, IdentityClaim), text
    assert (claim.vendor, claim.model) == (vendor, model), (text, claim)
    assert claim.span and claim.span in text


@pytest.mark.parametrize("text", MENTIONS)
def test_mentions_are_not_claims(text):
    assert claimed_identity(text) is None, (text, claimed_identities(text))


def test_model_is_filled_from_a_later_claim_of_the_same_vendor():
    claim = claimed_identity("I was created by Anthropic. You can call me Claude; my name is Claude.")
    assert (claim.vendor, claim.model) == ("Anthropic", "Claude")


def test_conflicting_claims_are_all_reported():
    claims = claimed_identities("I am Claude. Actually, I was trained by OpenAI.")
    assert [c.vendor for c in claims] == ["Anthropic", "OpenAI"]


def test_identity_distribution_counts_first_claims_over_all_texts():
    texts = ["I am ChatGPT.", "I'm Claude.", "As an AI developed by OpenAI, I cannot do that.", "Paris.", ""]
    assert identity_distribution(texts) == pytest.approx({"OpenAI": 0.4, "Anthropic": 0.2})
    assert identity_distribution([]) == {}
