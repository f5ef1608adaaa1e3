"""Train a tiny character-level GPT on a built-in text, then sample from it.

    python examples/char_gpt.py [--steps 400] [--prompt "the "]
"""

import argparse
import math

import deepseek as ds
import deepseek.nn as nn
import deepseek.nn.functional as F

TEXT = """\
Twinkle, twinkle, little star, how I wonder what you are!
Up above the world so high, like a diamond in the sky.
When the blazing sun is gone, when he nothing shines upon,
then you show your little light, twinkle, twinkle, all the night.
Then the traveller in the dark thanks you for your tiny spark;
he could not see which way to go, if you did not twinkle so.
"""


class Block(nn.Module):
    """Pre-norm transformer block: causal self-attention, then a GELU MLP."""

    def __init__(self, n_embd, n_head):
        super().__init__()
        self.n_head = n_head
        self.ln1 = nn.LayerNorm(n_embd)
        self.qkv = nn.Linear(n_embd, 3 * n_embd)
        self.proj = nn.Linear(n_embd, n_embd)
        self.ln2 = nn.LayerNorm(n_embd)
        self.mlp = nn.Sequential(nn.Linear(n_embd, 4 * n_embd), nn.GELU(),
                                 nn.Linear(4 * n_embd, n_embd))

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(B, T, C))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab_size, block_size=32, n_embd=64, n_head=4, n_layer=2):
        super().__init__()
        self.block_size = block_size
        self.tok = nn.Embedding(vocab_size, n_embd)
        self.pos = nn.Embedding(block_size, n_embd)
        self.blocks = nn.Sequential(*[Block(n_embd, n_head) for _ in range(n_layer)])
        self.ln_f = nn.LayerNorm(n_embd)
        self.head = nn.Linear(n_embd, vocab_size, bias=False)
        self.head.weight = self.tok.weight  # weight tying
        nn.init.normal_(self.tok.weight, std=0.02)  # N(0, 1) would make the tied head's logits huge

    def forward(self, idx, targets=None):
        x = self.tok(idx) + self.pos(ds.arange(idx.shape[1]))
        logits = self.head(self.ln_f(self.blocks(x)))
        if targets is None:
            return logits, None
        return logits, F.cross_entropy(logits.flatten(0, 1), targets.flatten())

    @ds.no_grad()
    def generate(self, idx, max_new_tokens, temperature=0.8, top_k=8):
        for _ in range(max_new_tokens):
            logits, _ = self(idx[:, -self.block_size:])
            logits = logits[:, -1, :] / temperature
            v, _ = ds.topk(logits, top_k)
            logits = logits.masked_fill(logits < v[:, [-1]], -math.inf)
            idx = ds.cat([idx, ds.multinomial(F.softmax(logits, dim=-1), 1)], dim=1)
        return idx


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--prompt", default="Twinkle")
    parser.add_argument("--tokens", type=int, default=120)
    args = parser.parse_args()

    ds.manual_seed(0)
    chars = sorted(set(TEXT))
    stoi = {c: i for i, c in enumerate(chars)}
    data = ds.tensor([stoi[c] for c in TEXT])
    model = GPT(len(chars))
    optimizer = ds.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
    scheduler = ds.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.steps)
    block, batch = model.block_size, 16

    model.train()
    for step in range(args.steps):
        ix = ds.randint(len(data) - block - 1, (batch,))
        x = ds.stack([data[i:i + block] for i in ix.tolist()])
        y = ds.stack([data[i + 1:i + 1 + block] for i in ix.tolist()])
        _, loss = model(x, y)
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        scheduler.step()
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step}: loss {loss.item():.4f}")

    model.eval()
    prompt = ds.tensor([[stoi[c] for c in args.prompt if c in stoi]])
    out = model.generate(prompt, args.tokens)
    print("".join(chars[i] for i in out[0].tolist()))


if __name__ == "__main__":
    main()
