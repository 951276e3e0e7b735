"""Merchants: the shops, clubs and schools that take vouchers, and how they come and change.

``models`` (the merchant, its bindings, a requested IBAN), ``records`` (add,
name, categories, status, listing, who sees the payee), ``bindings`` (punch cards and cheques only named merchants take), ``places``
(where a pass can be spent, by the till's rule) and ``api`` (the staff's
``/api/v1/municipalities/<code>/merchants``). Redeeming at a merchant is
``pasdienst.redeem``'s.
"""
