"""The forecasting network: a small encoder-only transformer over day tokens with quantile outputs.

Tokens are the 14 past days (24 normalised log intensities each, plus calendar features) and 4 future days
(calendar features only). After self-attention, each future token emits 24 hours x Q quantiles. A linear map
of the whole context is added to every quantile (a strong autoregressive skip path the attention refines).
Quantiles are made non-crossing by construction: the median plus cumulative positive offsets either side.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from .features import CALENDAR_FEATURES, CONTEXT_DAYS, CONTEXT_HOURS, FUTURE_TOKENS, TOKENS
from .scoring import BLOCK_HOURS, HORIZON_HOURS

DEFAULT_QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)


@dataclass(frozen=True)
class ModelConfig:
    d_model: int = 64
    heads: int = 4
    layers: int = 3
    feedforward: int = 128
    dropout: float = 0.1
    quantiles: tuple[float, ...] = field(default=DEFAULT_QUANTILES)
    seasonal_prior: bool = False

    def as_dict(self) -> dict:
        return asdict(self)


class ForecastTransformer(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        if 0.5 not in config.quantiles or list(config.quantiles) != sorted(config.quantiles):
            raise ValueError("quantiles must be increasing and include 0.5")
        self.config = config
        self.n_quantiles = len(config.quantiles)
        self.median_index = config.quantiles.index(0.5)
        d = config.d_model
        self.embed = nn.Linear(BLOCK_HOURS + CALENDAR_FEATURES, d)
        self.position = nn.Parameter(torch.zeros(TOKENS, d))
        layer = nn.TransformerEncoderLayer(
            d, config.heads, config.feedforward, config.dropout, batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d)
        self.head = nn.Linear(d, BLOCK_HOURS * self.n_quantiles)
        self.skip = nn.Linear(CONTEXT_HOURS, HORIZON_HOURS)
        nn.init.normal_(self.position, std=0.02)
        prior = seasonal_naive_matrix() if config.seasonal_prior else torch.zeros(HORIZON_HOURS, CONTEXT_HOURS)
        self.register_buffer("prior", prior, persistent=False)

    def forward(self, past: torch.Tensor, calendar: torch.Tensor) -> torch.Tensor:
        """past (n, 14, 24), calendar (n, 18, C) -> quantiles (n, 96, Q) on the normalised log scale."""
        n = past.shape[0]
        values = torch.cat([past, past.new_zeros(n, FUTURE_TOKENS, BLOCK_HOURS)], dim=1)
        tokens = self.embed(torch.cat([values, calendar], dim=2)) + self.position
        hidden = self.norm(self.encoder(tokens))[:, CONTEXT_DAYS:]
        raw = self.head(hidden).reshape(n, HORIZON_HOURS, self.n_quantiles)
        flat = past.reshape(n, CONTEXT_HOURS)
        median = raw[..., self.median_index] + self.skip(flat) + flat @ self.prior.T
        m = self.median_index
        up = nn.functional.softplus(raw[..., m + 1 :]).cumsum(dim=-1)
        down = nn.functional.softplus(raw[..., :m]).flip(-1).cumsum(dim=-1).flip(-1)
        return torch.cat([median[..., None] - down, median[..., None], median[..., None] + up], dim=-1)


def seasonal_naive_matrix() -> torch.Tensor:
    """(96, 336): each lead as the mean of "same hour yesterday" and "mean of the same hour over 7 days".

    With `seasonal_prior`, the network learns a correction to this fixed forecast, and weight decay pulls
    it towards the seasonal-naive forecast rather than towards zero.
    """
    m = torch.zeros(HORIZON_HOURS, CONTEXT_HOURS)
    for lead in range(HORIZON_HOURS):
        hour = lead % BLOCK_HOURS
        m[lead, CONTEXT_HOURS - BLOCK_HOURS + hour] += 0.5
        for day in range(1, 8):
            m[lead, CONTEXT_HOURS - BLOCK_HOURS * day + hour] += 0.5 / 7
    return m


def pinball_loss(
    pred: torch.Tensor, target: torch.Tensor, quantiles: torch.Tensor, weight: torch.Tensor | None = None
) -> torch.Tensor:
    """Mean quantile (pinball) loss; pred (n, H, Q), target (n, H), optional weight per sample (n,)."""
    err = target[..., None] - pred
    loss = torch.maximum(quantiles * err, (quantiles - 1) * err)
    if weight is not None:
        loss = loss * weight[:, None, None] / weight.mean()
    return loss.mean()
