"""A local Hugging Face transformers model, for weights on disk (optional extra 'hf')."""

from __future__ import annotations

from forensics.providers.base import ModelSpec, PermanentError, Reply, chat_messages


class HFTransformers:
    """A local transformers model, for weights on disk; requires the optional 'hf' extra."""

    endpoint = "local"

    def __init__(self, spec: ModelSpec):
        try:  # the optional extra 'hf'
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError:  # pragma: no cover - depends on the optional extra
            raise PermanentError(
                "missing_extra", "install the 'hf' extra: pip install 'distillation-forensics[hf]'"
            ) from None
        self.spec = spec
        self.tokenizer = AutoTokenizer.from_pretrained(spec.name)
        self.model = AutoModelForCausalLM.from_pretrained(spec.name)

    def build_request(self, messages, decoding, sample_index):
        return {
            "model": self.spec.name,
            "messages": chat_messages(messages, decoding),
            "temperature": decoding.temperature,
            "top_p": decoding.top_p,
            "max_new_tokens": decoding.max_tokens,
            "seed": decoding.for_sample(sample_index),
        }

    def send(self, request, timeout):
        import torch  # about 2 s to import (python -X importtime): paid only when a local model generates

        if request["seed"] is not None:
            torch.manual_seed(request["seed"])
        ids = self.tokenizer.apply_chat_template(request["messages"], add_generation_prompt=True, return_tensors="pt")
        sample = request["temperature"] > 0
        out = self.model.generate(
            ids,
            max_new_tokens=request["max_new_tokens"],
            do_sample=sample,
            **({"temperature": request["temperature"], "top_p": request["top_p"]} if sample else {}),
        )
        new = out[0, ids.shape[1] :]
        return {
            "model": self.spec.name,
            "text": self.tokenizer.decode(new, skip_special_tokens=True),
            "usage": {"prompt_tokens": int(ids.shape[1]), "completion_tokens": int(new.shape[0])},
        }

    @staticmethod
    def parse(raw):
        return Reply(raw["text"], raw.get("model"), None, raw.get("usage") or {})
