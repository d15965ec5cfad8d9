"""Field validators: same input, same verdict on every path (pure, no database)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from registry import validators
from registry.validators import (
    DocumentType,
    FieldError,
    ValidationErrors,
    resident_id_birth_date,
    validate_birth_date,
    validate_credit_code,
    validate_date_order,
    validate_document,
    validate_foreign_permanent_residence,
    validate_hmt_residence_permit,
    validate_name,
    validate_passport,
    validate_phone,
    validate_positive_area,
    validate_positive_int,
    validate_resident_id,
)

TODAY = date(2026, 11, 25)
WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


def with_check_digit(body: str) -> str:
    """ISO 7064 MOD 11-2 computed independently of the code under test."""
    assert len(body) == 17
    remainder = (12 - sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True)) % 11) % 11
    return body + ("X" if remainder == 10 else str(remainder))


def wrong_check_digit(number: str) -> str:
    """The same number with a different, therefore wrong, check digit."""
    return number[:-1] + ("0" if number[-1] != "0" else "1")


def assert_rejected(call, *args, field: str = "document_number", **kwargs) -> FieldError:
    with pytest.raises(FieldError) as caught:
        call(*args, **kwargs)
    assert caught.value.field == field
    return caught.value


# -- resident ID --------------------------------------------------------------------------


def test_independent_check_digit_helper_matches_the_well_known_sample() -> None:
    assert with_check_digit("11010519491231002") == "11010519491231002X"


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002X",
        with_check_digit("42010619600101123"),  # Wuchang code issued to someone born 1960
        with_check_digit("41272319750315002"),  # retired region code still on cards
        with_check_digit("41272320050315002"),  # retired code, birth after retirement
        with_check_digit("42999919800101001"),  # unknown county of a real province: accepted
    ],
)
def test_valid_resident_ids_are_accepted(number: str) -> None:
    assert validate_resident_id(number, today=TODAY) == number


def test_resident_id_is_normalised() -> None:
    assert validate_resident_id(" 110105 19491231 002x ", today=TODAY) == "11010519491231002X"
    assert (
        validate_resident_id("１１０１０５１９４９１２３１００２ｘ", today=TODAY)
        == "11010519491231002X"
    )


def test_resident_id_wrong_check_digit() -> None:
    error = assert_rejected(
        validate_resident_id, wrong_check_digit("11010519491231002X"), today=TODAY
    )
    assert str(error.message) == "Check digit is wrong"


def test_resident_id_impossible_date() -> None:
    error = assert_rejected(
        validate_resident_id, with_check_digit("11010519900230001"), today=TODAY
    )
    assert "not a real date" in str(error.message)


def test_resident_id_future_birth_date() -> None:
    number = with_check_digit("11010520240602001")
    assert_rejected(validate_resident_id, number, today=date(2024, 6, 1))
    assert validate_resident_id(number, today=date(2024, 6, 2)) == number


def test_birth_dates_are_judged_against_the_day_given_never_a_clock() -> None:
    number = with_check_digit("11010520261125001")
    with pytest.raises(TypeError):
        validate_resident_id(number)  # type: ignore[call-arg]  # no hidden date.today()
    with pytest.raises(TypeError):
        validate_birth_date("2026-11-25")  # type: ignore[call-arg]
    assert validate_resident_id(number, today=date(2026, 11, 25)) == number


@pytest.mark.parametrize("province", ["00", "10", "16", "20", "38", "47", "55", "70", "83", "99"])
def test_resident_id_needs_a_province_that_exists(province: str) -> None:
    error = assert_rejected(
        validate_resident_id, with_check_digit(f"{province}010519900307123"), today=TODAY
    )
    assert "province" in str(error.message)


@pytest.mark.parametrize(
    "province",
    ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65", "71", "81", "82"],
)
def test_resident_id_provinces_of_gb_t_2260_are_accepted(province: str) -> None:
    number = with_check_digit(f"{province}010519900307123")
    assert validate_resident_id(number, today=TODAY) == number


def test_the_reviewed_made_up_number_is_refused() -> None:
    assert_rejected(validate_resident_id, "999999199003071234", today=TODAY)
    assert with_check_digit("99999919900307123") == "999999199003071234"


def test_permits_sharing_the_check_digit_code_keep_their_own_prefixes() -> None:
    permit = with_check_digit("83000019900307123")
    assert validate_document("hmt_residence_permit", permit, today=TODAY) == permit
    card = with_check_digit("93384019900307123")
    assert validate_document("foreign_permanent_residence", card, today=TODAY) == card


def test_resident_id_before_1900() -> None:
    assert_rejected(validate_resident_id, with_check_digit("11010518991231001"), today=TODAY)


@pytest.mark.parametrize(
    "number",
    [
        "11010519491231002",  # 17 characters
        "11010519491231002X1",  # 19 characters
        "1101051949123100XX",  # X not only at the end
        "11010519491231A02X",  # letter inside
        "",
        "   ",
    ],
)
def test_resident_id_bad_format(number: str) -> None:
    assert_rejected(validate_resident_id, number, today=TODAY)


def test_resident_id_from_spreadsheet_float_is_rejected() -> None:
    error = assert_rejected(validate_resident_id, 1.10105194912310e17, today=TODAY)
    assert "spreadsheet number" in str(error.message)


def test_resident_id_none_is_required() -> None:
    assert_rejected(validate_resident_id, None, today=TODAY)


def test_resident_id_birth_date() -> None:
    assert resident_id_birth_date("11010519491231002x", today=TODAY) == date(1949, 12, 31)
    assert_rejected(resident_id_birth_date, wrong_check_digit("11010519491231002X"), today=TODAY)


def test_errors_never_echo_the_number() -> None:
    number = wrong_check_digit("11010519491231002X")
    error = assert_rejected(validate_resident_id, number, today=TODAY)
    assert number not in str(error)
    assert "19491231" not in str(error.message)


def test_no_public_function_derives_a_place_from_the_number() -> None:
    public = [name for name in dir(validators) if not name.startswith("_")]
    for word in ("region", "province", "place", "origin", "location", "sex", "gender"):
        assert not [name for name in public if word in name.lower()], word


# -- other documents ----------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["810000", "820000", "830000"])
def test_hmt_residence_permit_valid(prefix: str) -> None:
    number = with_check_digit(f"{prefix}19850704001")
    assert validate_hmt_residence_permit(number, today=TODAY) == number


def test_hmt_residence_permit_rejects_other_prefixes_and_bad_check() -> None:
    assert_rejected(validate_hmt_residence_permit, "11010519491231002X", today=TODAY)
    assert_rejected(
        validate_hmt_residence_permit,
        wrong_check_digit(with_check_digit("81000019850704001")),
        today=TODAY,
    )


def test_foreign_permanent_residence_2017_format() -> None:
    assert (
        validate_foreign_permanent_residence("usa 110085 070101", today=TODAY) == "USA110085070101"
    )
    assert_rejected(validate_foreign_permanent_residence, "US1110085070101", today=TODAY)
    assert_rejected(validate_foreign_permanent_residence, "USA11008507010", today=TODAY)


def test_foreign_permanent_residence_2023_format() -> None:
    number = with_check_digit("93384019850704001")
    assert validate_foreign_permanent_residence(number, today=TODAY) == number
    assert_rejected(validate_foreign_permanent_residence, wrong_check_digit(number), today=TODAY)
    resident = "11010519491231002X"  # right check digit but does not start with 9
    assert_rejected(validate_foreign_permanent_residence, resident, today=TODAY)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("E12345678", "E12345678"), ("g12345678", "G12345678"), ("AB12 3456", "AB123456")],
)
def test_passport_valid(raw: str, expected: str) -> None:
    assert validate_passport(raw) == expected


@pytest.mark.parametrize("raw", ["E123", "E" * 18, "E1234@5678", "护照12345"])
def test_passport_invalid(raw: str) -> None:
    assert_rejected(validate_passport, raw)


def test_validate_document_dispatches_per_type() -> None:
    resident = "11010519491231002X"
    assert validate_document(DocumentType.RESIDENT_ID, resident.lower(), today=TODAY) == resident
    assert validate_document("passport", "e12345678", today=TODAY) == "E12345678"
    assert_rejected(validate_document, DocumentType.HMT_RESIDENCE_PERMIT, resident, today=TODAY)
    assert_rejected(validate_document, DocumentType.RESIDENT_ID, "E12345678", today=TODAY)
    permit = with_check_digit("82000019850704001")
    assert validate_document("hmt_residence_permit", permit, today=TODAY) == permit
    assert validate_document("foreign_permanent_residence", "CAN110085070101", today=TODAY)


def test_validate_document_unknown_type() -> None:
    assert_rejected(
        validate_document, "driving_licence", "E12345678", field="document_type", today=TODAY
    )


def test_document_type_values_are_stable() -> None:
    assert [member.value for member in DocumentType] == [
        "resident_id",
        "passport",
        "hmt_residence_permit",
        "foreign_permanent_residence",
    ]
    assert str(DocumentType.PASSPORT.label) == "Passport"


# -- credit code --------------------------------------------------------------------------


def test_credit_code_valid_and_normalised() -> None:
    assert validate_credit_code("91350100M000100Y43") == "91350100M000100Y43"
    assert validate_credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("91350100M000100Y44", "Check digit is wrong"),
        ("91350100M000100Y4", "Must be 18 characters"),
        ("91350100M0001O0Y43", "Contains characters not allowed in a credit code"),
    ],
)
def test_credit_code_invalid(raw: str, message: str) -> None:
    error = assert_rejected(validate_credit_code, raw, field="credit_code")
    assert str(error.message) == message


# -- phone --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("+86 138 1234 5678", "13812345678"),
        ("8613812345678", "13812345678"),
        ("0086-19912345678", "19912345678"),
        (13812345678, "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("010-12345678", "01012345678"),
        ("010-62345678", "01062345678"),
        ("(010) 1234 5678", "01012345678"),
        ("0755-1234567", "07551234567"),
        ("+86 10 1234 5678", "01012345678"),
        ("+86 755 12345678", "075512345678"),
        ("010-12345678-123", "01012345678-123"),
        ("010-12345678 ext 45", "01012345678-45"),
        ("0571 8888 6666转802", "057188886666-802"),
    ],
)
def test_phone_valid(raw: object, expected: str) -> None:
    assert validate_phone(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "12812345678",  # no mobile prefix 12
        "1381234567",  # 10 digits
        "138123456789",  # 12 digits
        "13812345678-12",  # mobiles have no extension
        "010-123456",  # local part too short
        "010-123456789",  # local part too long
        "010-02345678",  # local part cannot start with 0
        "+1 415 555 0100",  # not mainland
        "phone",
        "",
        None,
    ],
)
def test_phone_invalid(raw: object) -> None:
    assert_rejected(validate_phone, raw, field="phone")


# -- dates --------------------------------------------------------------------------------


def test_date_order() -> None:
    assert validate_date_order(date(2024, 1, 1), date(2024, 1, 1)) == date(2024, 1, 1)
    assert validate_date_order(date(2024, 1, 1), None) is None
    assert validate_date_order("2024-01-01", "2024-12-31") == date(2024, 12, 31)
    assert validate_date_order(None, "2024-12-31") == date(2024, 12, 31)


def test_date_order_end_before_start() -> None:
    assert_rejected(validate_date_order, date(2024, 2, 1), date(2024, 1, 31), field="end")
    assert_rejected(validate_date_order, "2024-02-01", "2024-01-31", field="end")


def test_date_order_uses_the_given_field_name() -> None:
    error = assert_rejected(
        validate_date_order, date(2024, 2, 1), date(2024, 1, 1), "moved_out", field="moved_out"
    )
    assert error.field == "moved_out"


def test_birth_date() -> None:
    today = date(2024, 6, 1)
    assert validate_birth_date(date(1990, 5, 17), today=today) == date(1990, 5, 17)
    assert validate_birth_date("1990-05-17", today=today) == date(1990, 5, 17)
    assert validate_birth_date(datetime(1990, 5, 17, 8, 0), today=today) == date(1990, 5, 17)
    assert validate_birth_date(today, today=today) == today
    assert_rejected(validate_birth_date, date(2024, 6, 2), today=today, field="birth_date")
    assert_rejected(validate_birth_date, date(1899, 12, 31), field="birth_date", today=TODAY)
    assert_rejected(validate_birth_date, "1990-02-30", field="birth_date", today=TODAY)
    assert_rejected(validate_birth_date, None, field="birth_date", today=TODAY)


# -- numbers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (Decimal("85.5"), Decimal("85.50")),
        ("85.25", Decimal("85.25")),
        (85.5, Decimal("85.50")),
        (60, Decimal("60.00")),
        ("0.01", Decimal("0.01")),
        ("100000", Decimal("100000.00")),
    ],
)
def test_area_valid(raw: object, expected: Decimal) -> None:
    result = validate_positive_area(raw)
    assert result == expected
    assert result.as_tuple().exponent == -2


@pytest.mark.parametrize(
    "raw", ["0", "-5", "100000.01", "85.123", "abc", "NaN", "Infinity", "", None, True]
)
def test_area_invalid(raw: object) -> None:
    assert_rejected(validate_positive_area, raw, field="floor_area")


@pytest.mark.parametrize(("raw", "expected"), [(3, 3), ("3", 3), (3.0, 3), ("1000", 1000)])
def test_positive_int_valid(raw: object, expected: int) -> None:
    result = validate_positive_int(raw, "rooms")
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize("raw", [0, -1, 2.5, "1001", "two", None, True])
def test_positive_int_invalid(raw: object) -> None:
    assert_rejected(validate_positive_int, raw, "rooms", field="rooms")


def test_positive_int_custom_maximum() -> None:
    assert validate_positive_int(20, "capacity", maximum=20) == 20
    assert_rejected(validate_positive_int, 21, "capacity", maximum=20, field="capacity")


# -- names --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张三", "张三"),
        ("  李四\n", "李四"),
        ("阿卜杜拉·艾买提", "阿卜杜拉·艾买提"),
        ("John   Smith", "John Smith"),
        ("王" * 50, "王" * 50),
    ],
)
def test_name_valid(raw: str, expected: str) -> None:
    assert validate_name(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "王" * 51, "张\x00三", "张\t三", "张\u200b三", None])
def test_name_invalid(raw: object) -> None:
    assert_rejected(validate_name, raw, field="name")


# -- errors -------------------------------------------------------------------------------


def test_messages_render_without_a_flask_app() -> None:
    error = assert_rejected(validate_name, "", field="name")
    assert str(error.message) == "This field is required"
    assert str(error) == "name: This field is required"
    too_big = assert_rejected(validate_positive_int, 5000, "rooms", field="rooms")
    assert str(too_big.message) == "Must be at most 1000"


def test_validation_errors_collects_every_field() -> None:
    errors = ValidationErrors()
    with errors.collect():
        validate_name("")
    with errors.collect():
        validate_phone("123")
    with errors.collect():
        validate_name("张三")
    errors.add("phone", "second problem")
    assert set(errors.errors) == {"name", "phone"}
    assert len(errors.errors["phone"]) == 2
    with pytest.raises(ValidationErrors) as caught:
        errors.raise_if_any()
    assert "name: This field is required" in str(caught.value)


def test_validation_errors_without_errors_does_not_raise() -> None:
    errors = ValidationErrors()
    with errors.collect():
        validate_name("张三")
    errors.raise_if_any()
    assert errors.errors == {}


def test_validation_errors_lets_other_exceptions_escape() -> None:
    errors = ValidationErrors()
    with pytest.raises(KeyError), errors.collect():
        raise KeyError("not a field error")
    assert errors.errors == {}


@pytest.mark.parametrize(
    "raw",
    [
        "2027-01-01",
        "２０２７-０１-０１",  # full-width digits from a Chinese IME
        "２０２７－０１－０１",  # and full-width dashes
        "2027/1/1",
        "2027.01.01",
        "20270101",
        "2027年1月1日",
        " 2027-1-1 ",
        date(2027, 1, 1),
        datetime(2027, 1, 1, 9, 30),
    ],
)
def test_one_date_parser_for_every_form(raw: object) -> None:
    assert validators.parse_date(raw, "day") == date(2027, 1, 1)


@pytest.mark.parametrize(
    "raw", ["2027-02-30", "2027-W01", "27-01-01", "2027-1", "2027/01-01", "tomorrow", "", None]
)
def test_date_parser_refuses_what_is_not_a_day(raw: object) -> None:
    assert_rejected(validators.parse_date, raw, "day", field="day")


# -- what a search box holds --------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("A1201", "door"),  # a room, not a passport number
        ("B2601", "door"),
        ("26-1-601", "door"),  # building-entrance-room, not a phone number
        ("3-2-1201", "door"),
        ("17号", "door"),
        ("12栋2单元502", "door"),
        ("502", "door"),
        ("解放路", "place"),
        ("解放路17号", "place"),
        ("幸福小区3栋", "place"),
        ("张伟", "text"),
        ("13812345678", "phone"),
        ("138 1234 5678", "phone"),
        ("010-12345678", "phone"),
        ("11010519491231002x", "document"),
        ("１１０１０５１９４９１２３１００２Ｘ", "document"),  # full-width Ｘ too
        ("110105 19491231 002X", "document"),
        ("110105194912310021", "number"),  # wrong check digit: nobody's number, still private
        ("1381234", "number"),  # part of a phone number
        ("E12345678", "number"),  # a passport only when the user says so
    ],
)
def test_one_detector_for_every_search_box(raw: str, kind: str) -> None:
    assert validators.classify_query(raw).kind == kind


def test_only_numbers_with_a_check_character_are_documents() -> None:
    query = validators.classify_query("１１０１０５１９４９１２３１００２ｘ")
    assert query.documents == ((DocumentType.RESIDENT_ID, "11010519491231002X"),)
    permit = with_check_digit("83000019900307123")
    assert validators.classify_query(permit).documents == (
        (DocumentType.HMT_RESIDENCE_PERMIT, permit),
    )
    # A birth date that has not come yet is still somebody's number to keep private.
    unborn = with_check_digit(f"110105{date.today().year + 2}0101001")
    assert validators.classify_query(unborn).kind == "document"
    chosen = validators.document_query("passport", "e1234 5678", today=TODAY)
    assert chosen.documents == ((DocumentType.PASSPORT, "E12345678"),)
    assert_rejected(validators.document_query, "passport", "E1", today=TODAY, field="q")


def test_what_may_travel_in_a_url() -> None:
    personal = {kind for kind in validators.QueryKind if kind.is_personal}
    assert personal == {"document", "phone", "number", "text"}
