"""cenas trainer: NB201 full training, supernet training and scoring for one NASTrial."""
