"""REINFORCE (Williams, 1992) as NAS-Bench-201 runs it: a softmax policy per edge, Adam, and a moving-average
reward baseline (momentum 0.9).

For cell spaces (one op per edge). Each `ask` samples one op per edge from the policy; `tell` takes
a step on -log p(arch) * (value - baseline). Learning rate 0.01: the NATS-Bench topology-space
scripts' choice for this algorithm (not tuned on our benchmark seeds). An architecture trained
before is not trained again: its known value updates the policy for free and another sample is drawn.
"""

from __future__ import annotations

import numpy as np

from proxynas.search.base import Strategy, register_strategy

RESAMPLES = 100  # draws of already-trained architectures before falling back to a random untrained one


@register_strategy
class Reinforce(Strategy):
    name = "reinforce"

    def __init__(self, space, seed, learning_rate: float = 0.01, momentum: float = 0.9,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8):
        super().__init__(space, seed)
        self.learning_rate, self.momentum, self.betas, self.eps = learning_rate, momentum, betas, eps
        self.logits = np.zeros((len(self.space.edges), len(self.space.ops)))
        self._m, self._v, self._steps = np.zeros_like(self.logits), np.zeros_like(self.logits), 0
        self.baseline: float | None = None

    def _policy(self) -> np.ndarray:
        z = np.exp(self.logits - self.logits.max(axis=1, keepdims=True))
        return z / z.sum(axis=1, keepdims=True)

    def ask(self):
        for _ in range(RESAMPLES):
            policy = self._policy()
            arch = self.space.arch(int(self.rng.choice(len(p), p=p)) for p in policy)
            if arch not in self.seen:
                return arch
            self._learn(arch, self.seen[arch])
        return self.unseen_random()

    def tell(self, arch, value):
        super().tell(arch, value)
        self._learn(arch, value)

    def _learn(self, arch, value: float) -> None:
        """One Adam step on the policy-gradient loss; the baseline is updated after the advantage is taken."""
        self.baseline = value if self.baseline is None else self.baseline
        advantage = value - self.baseline
        self.baseline = self.momentum * self.baseline + (1 - self.momentum) * value
        grad = self._policy()  # d(-log p)/d logits = softmax - onehot, per edge
        grad[np.arange(len(arch)), list(arch)] -= 1.0
        grad *= advantage
        self._steps += 1
        b1, b2 = self.betas
        self._m = b1 * self._m + (1 - b1) * grad
        self._v = b2 * self._v + (1 - b2) * grad ** 2
        m_hat, v_hat = self._m / (1 - b1 ** self._steps), self._v / (1 - b2 ** self._steps)
        self.logits -= self.learning_rate * m_hat / (np.sqrt(v_hat) + self.eps)
