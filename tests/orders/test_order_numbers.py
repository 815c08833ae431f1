from orders.order_numbers import ALPHABET, order_number_generate, order_number_is_well_formed


def test_order_numbers_are_random_and_well_formed():
    numbers = {order_number_generate() for _ in range(2000)}
    assert len(numbers) == 2000
    for number in numbers:
        assert order_number_is_well_formed(number)
        assert number.startswith("FM-") and len(number) == 11
    assert not set("01ILOU") & set(ALPHABET)
    assert not order_number_is_well_formed("FM-0000000O")
