"""The demo district's rows, built as columns with numpy and handed on one table at a time.

Everything follows from the layout (geo/demo_layout.py) and one seed, so the same command
always loads the same district. The proportions of problems are those a district office
meets: most rented dwellings are filed, some filings have lapsed, some were never made,
some pledges are missing and a few flats are packed far beyond their legal capacity.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import shapely

from geo.demo_layout import DistrictLayout
from registry.accounts.passwords import hash_password
from registry.address.text import address_full_text
from registry.db import SRID
from registry.demo import identifiers
from registry.demo.copy import NULL, TableData, bytea_column, text_column
from registry.demo.names import draw_names
from registry.flags.models import RuleCode
from registry.lease.term import last_day_of_term
from registry.person.identity import IdentityCipher

DEMO_PASSWORD = "demo-2026"
OCCUPANCY = np.array(["owner_occupied", "rented", "vacant", "other"])
OCCUPANCY_SHARES = [0.58, 0.28, 0.11, 0.03]
OVERCROWDED_SHARE_OF_RENTED = 0.06
FILING_SHARES = {"current": 0.72, "expired": 0.12, "none": 0.16}
RENTAL_PLEDGE_SHARE = 0.90
SECURITY_GUARANTEE_SHARE = 0.87
LANDLORDS_LIVING_HERE = 0.30
# What neighbours report, in their words (the tip rule raises a flag whatever they say).
TIP_TEXTS = (
    "楼上这户每天进出很多年轻人，晚上很吵，怀疑群租。",
    "隔壁房子住了十几个人，楼道里堆满鞋子和行李。",
    "这栋楼有几户经常有陌生人进出，早出晚归，像是在上课。",
    "房东把客厅隔成好几间出租，消防通道被堵。",
    "对门这户租客很多，经常半夜有人拖着行李箱来。",
    "整栋楼有人发传单拉人去听课，请核查。",
)
CAPACITY_MIN_AREA_PER_PERSON = 5
CAPACITY_MAX_PEOPLE_PER_ROOM = 2

PLEDGE_DOCUMENTS = (
    (
        1,
        "rental_pledge",
        "2025.1",
        "房屋出租承诺书",
        "本人承诺：出租房屋不用于传销、赌博、吸毒等违法犯罪活动；如实登记承租人身份信息并"
        "按规定办理租赁备案；发现承租人有违法犯罪活动线索的，及时向公安机关报告。",
    ),
    (
        2,
        "security_guarantee",
        "2025.1",
        "治安责任保证书",
        "本人保证：落实出租房屋治安、消防安全责任；不超过核定人数出租；配合社区网格员和"
        "公安机关的检查；承租人变动时在三日内报告。",
    ),
)


def ewkb_hex(geometries) -> list[str]:
    """Hex EWKB with SRID 4326: exact coordinates and the fastest form COPY accepts."""
    with_srid = shapely.set_srid(np.asarray(geometries, dtype=object), SRID)
    return shapely.to_wkb(with_srid, hex=True, include_srid=True).tolist()


def multipolygon(polygon) -> shapely.MultiPolygon:
    return polygon if polygon.geom_type == "MultiPolygon" else shapely.MultiPolygon([polygon])


def ints(values) -> list[str]:
    return np.asarray(values).astype(np.int64).astype(str).tolist()


def nullable_ints(values: np.ndarray, present: np.ndarray) -> list[str]:
    out = np.asarray(values).astype(np.int64).astype(str).astype(object)
    out[~present] = NULL
    return out.tolist()


def iso_dates(days: np.ndarray) -> list[str]:
    return np.datetime_as_string(days, unit="D").tolist()


def term_ends(starts: np.ndarray, years: np.ndarray) -> np.ndarray:
    """Each term's last day, by the lease form's own rule (a year is a year less a day)."""
    ends = [
        last_day_of_term(start, int(length))
        for start, length in zip(starts.astype(date), years.tolist())
    ]
    return np.array(ends, dtype="datetime64[D]")


@dataclass
class DemoCounts:
    """What was generated, for the report and the tests."""

    rows: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str]] = field(default_factory=list)


# -- the demo accounts: one list for the loader, the login summary and the README ----------

LANDLORD = "landlord1"
MAX_PROPERTY_MANAGERS = 3
# The first station's joint team (一号专班): its officer and these two.
SWEEP_TEAM_MEMBERS = (("sweeper1", "市场监管队员"), ("sweeper2", "住建队员"))
SWEEP_TEAM = (("officer1", "police"), ("sweeper1", "market_regulation"), ("sweeper2", "housing"))


@dataclass(frozen=True)
class DemoAccount:
    """One demo login. ``kind`` is what the account is for, as the login summary says it."""

    username: str
    display_name: str
    role: str
    kind: str
    station: int | None = None  # the officer's police station, by position in the layout


def grid_worker_name(cell: int) -> str:
    return f"grid{cell + 1:04d}"


def demo_accounts(layout: DistrictLayout) -> list[DemoAccount]:
    """Every account of the demo district: an administrator, an officer per station, a grid
    worker per cell, a property manager per community (at most three) and a landlord."""
    accounts = [DemoAccount("admin", "系统管理员", "admin", "administrator")]
    accounts += [
        DemoAccount(f"officer{i + 1}", f"{s.name}民警", "police_officer", "police officer", i)
        for i, s in enumerate(layout.police_stations)
    ]
    accounts += [
        DemoAccount(grid_worker_name(i), f"{cell.name}网格员", "grid_worker", "grid worker")
        for i, cell in enumerate(layout.cells)
    ]
    managers = min(MAX_PROPERTY_MANAGERS, len(layout.communities))
    accounts += [
        DemoAccount(f"manager{i}", f"物业管理员{i}", "property_manager", "property manager")
        for i in range(1, managers + 1)
    ]
    accounts.append(DemoAccount(LANDLORD, "房东", "property_manager", "landlord"))
    accounts += [
        DemoAccount(name, title, "sweep_team_member", "sweep team member")
        for name, title in SWEEP_TEAM_MEMBERS
    ]
    return accounts


def login_summary(accounts: list[DemoAccount]) -> list[tuple[str, str]]:
    """(kind, usernames) per kind of account: the one name, or the first … the last."""
    names: dict[str, list[str]] = {}
    for account in accounts:
        names.setdefault(account.kind, []).append(account.username)
    return [
        (kind, usernames[0] if len(usernames) == 1 else f"{usernames[0]} … {usernames[-1]}")
        for kind, usernames in names.items()
    ]


class DemoGenerator:
    """Builds every table of the demo district from a layout, a seed and today's date.

    ``first_ids`` says where each table's ids start (1 when not given). A reload starts
    them past every id the table's sequence has handed out, so an audit entry about an
    earlier record never names a record of the new district.
    """

    def __init__(
        self,
        layout: DistrictLayout,
        cipher: IdentityCipher,
        today: date,
        seed: int,
        first_ids: Mapping[str, int] | None = None,
    ) -> None:
        self.layout = layout
        self.cipher = cipher
        self.today = np.datetime64(today.isoformat(), "D")
        self.rng = np.random.default_rng(seed)
        self.counts = DemoCounts()
        self.first_ids = dict(first_ids or {})

    def _ids(self, table: str, ordinals) -> np.ndarray:
        """The ids of ``table``'s rows at the 0-based ``ordinals``."""
        return np.asarray(ordinals, dtype=np.int64) + self.first_ids.get(table, 1)

    def _ref(self, table: str, ordinals) -> list[str]:
        """``_ids`` as COPY text: a table's own ids and every foreign key to it."""
        return ints(self._ids(table, ordinals))

    # -- the order of tables follows the foreign keys ----------------------------------

    def tables(self) -> Iterator[TableData]:
        yield from self._areas()
        yield self._roads()
        yield self._pledge_documents()
        yield self._rule_versions()
        self._plan_dwellings()
        self._plan_people()
        yield self._people()
        yield self._addresses()
        yield self._organisations()
        yield self._dwellings()
        yield self._residences()
        yield from self._leases()
        yield from self._accounts()
        yield from self._focus_areas()
        yield from self._reports()

    def _table(self, name: str, columns: dict[str, list[str]]) -> TableData:
        data = TableData.from_columns(name, columns)
        self.counts.rows[name] = self.counts.rows.get(name, 0) + data.rows
        return data

    # -- administrative areas and grid --------------------------------------------------

    def _areas(self) -> Iterator[TableData]:
        layout = self.layout
        district = layout.district
        district_id = self._ref("district", [0])
        yield self._table(
            "district",
            {
                "id": district_id,
                "code": [district.code],
                "name": [district.name],
                "geom": ewkb_hex([multipolygon(district.polygon)]),
            },
        )
        subs = layout.sub_districts
        yield self._table(
            "sub_district",
            {
                "id": self._ref("sub_district", np.arange(len(subs))),
                "district_id": district_id * len(subs),
                "code": [s.code for s in subs],
                "name": [s.name for s in subs],
                "geom": ewkb_hex([multipolygon(s.polygon) for s in subs]),
            },
        )
        stations = layout.police_stations
        yield self._table(
            "police_station",
            {
                "id": self._ref("police_station", np.arange(len(stations))),
                "district_id": district_id * len(stations),
                "code": [f"{district.code}{i:03d}" for i in range(1, len(stations) + 1)],
                "name": [s.name for s in stations],
                "geom": ewkb_hex([shapely.Point(s.lon, s.lat) for s in stations]),
            },
        )
        communities = layout.communities
        yield self._table(
            "community",
            {
                "id": self._ref("community", np.arange(len(communities))),
                "sub_district_id": self._ref(
                    "sub_district", [c.sub_district_idx for c in communities]
                ),
                "police_station_id": self._ref(
                    "police_station", [c.police_station_idx for c in communities]
                ),
                "code": [c.code for c in communities],
                "name": [c.name for c in communities],
                "geom": ewkb_hex([multipolygon(c.polygon) for c in communities]),
            },
        )
        cells = layout.cells
        yield self._table(
            "grid_cell",
            {
                "id": self._ref("grid_cell", np.arange(len(cells))),
                "community_id": self._ref("community", [c.community_idx for c in cells]),
                "code": [c.code for c in cells],
                "name": [c.name for c in cells],
                "geom": ewkb_hex([c.polygon for c in cells]),
            },
        )

    def _roads(self) -> TableData:
        roads = self.layout.roads
        return self._table(
            "road",
            {
                "id": self._ref("road", np.arange(len(roads))),
                "district_id": self._ref("district", np.zeros(len(roads))),
                "name": [r.name for r in roads],
                "geom": ewkb_hex([r.line for r in roads]),
            },
        )

    def _pledge_documents(self) -> TableData:
        return self._table(
            "pledge_document",
            {
                "id": self._ref("pledge_document", [d[0] - 1 for d in PLEDGE_DOCUMENTS]),
                "kind": [d[1] for d in PLEDGE_DOCUMENTS],
                "version": [d[2] for d in PLEDGE_DOCUMENTS],
                "title": [d[3] for d in PLEDGE_DOCUMENTS],
                "body": text_column([d[4] for d in PLEDGE_DOCUMENTS]),
                "effective_from": ["2025-01-01"] * len(PLEDGE_DOCUMENTS),
            },
        )

    def _rule_versions(self) -> TableData:
        """The flag rules as the demo district sets them up: the group-rental capacity
        thresholds (the over-capacity rule's settings); every other rule on its defaults."""
        settings = {
            "min_floor_area_per_person": str(CAPACITY_MIN_AREA_PER_PERSON),
            "max_people_per_room": CAPACITY_MAX_PEOPLE_PER_ROOM,
            "band": 3,
        }
        return self._table(
            "rule_version",
            {
                "id": self._ref("rule_version", [0]),
                "rule": [RuleCode.OVER_CAPACITY.value],
                "enabled": ["t"],
                "priority": ["1"],
                "settings": [json.dumps(settings)],
                "valid_from": ["2025-01-01 00:00:00+08"],
                "note": ["人均居住面积不低于5平方米，每个房间不超过2人"],
                "created_at": ["2025-01-01 00:00:00+08"],
            },
        )

    # -- planning: dwellings, occupants and owners --------------------------------------

    def _plan_dwellings(self) -> None:
        """Rooms of every building become dwellings with a use, size and occupancy."""
        rng, buildings = self.rng, self.layout.buildings
        rooms_per_building = buildings.rooms.astype(np.int64)
        self.building_count = len(buildings)
        self.dwelling_count = int(rooms_per_building.sum())
        count = self.dwelling_count
        self.dwelling_building = np.repeat(np.arange(self.building_count), rooms_per_building)
        starts = np.repeat(np.cumsum(rooms_per_building) - rooms_per_building, rooms_per_building)
        ordinal = np.arange(count) - starts
        floors = buildings.floors[self.dwelling_building].astype(np.int64)
        per_floor = buildings.rooms_per_floor[self.dwelling_building].astype(np.int64)
        self.entrance = ordinal // (floors * per_floor) + 1
        self.floor = (ordinal // per_floor) % floors + 1
        self.room_no = self.floor * 100 + ordinal % per_floor + 1
        self.rooms = rng.choice([1, 2, 3, 4], size=count, p=[0.15, 0.45, 0.32, 0.08])
        area = self.rooms * 27 + rng.normal(12, 8, size=count)
        self.floor_area = np.round(np.clip(area, 18, 300), 2)
        self.use = rng.choice(
            np.array(["residential", "mixed", "commercial"]), size=count, p=[0.95, 0.03, 0.02]
        )
        self.occupancy = rng.choice(OCCUPANCY, size=count, p=OCCUPANCY_SHARES)
        self.capacity = np.minimum(
            self.floor_area // CAPACITY_MIN_AREA_PER_PERSON,
            self.rooms * CAPACITY_MAX_PEOPLE_PER_ROOM,
        ).astype(np.int64)
        rented = self.occupancy == "rented"
        self.overcrowded = rented & (rng.random(count) < OVERCROWDED_SHARE_OF_RENTED)

    def _plan_people(self) -> None:
        """How many people live in each dwelling; then landlords and former residents."""
        rng, count = self.rng, self.dwelling_count
        normal_cap = np.maximum(self.rooms * 2, 1)
        owner_size = np.clip(1 + rng.poisson(1.4, size=count), 1, normal_cap)
        tenant_size = np.clip(1 + rng.poisson(1.1, size=count), 1, normal_cap)
        packed_size = self.capacity + 3 + rng.poisson(4, size=count)
        other_size = 1 + (rng.random(count) < 0.3)
        occupants = np.select(
            [
                self.occupancy == "owner_occupied",
                self.overcrowded,
                self.occupancy == "rented",
                self.occupancy == "other",
            ],
            [owner_size, packed_size, tenant_size, other_size],
            default=0,
        ).astype(np.int64)
        self.occupants = occupants
        self.resident_count = int(occupants.sum())
        self.resident_dwelling = np.repeat(np.arange(count), occupants)
        first_in_dwelling = np.ones(self.resident_count, dtype=bool)
        first_in_dwelling[1:] = self.resident_dwelling[1:] != self.resident_dwelling[:-1]
        self.first_in_dwelling = first_in_dwelling

        let_out = self.occupancy != "owner_occupied"
        landlord_needed = int(let_out.sum())
        nonresident_landlords = max(1, int(landlord_needed / 1.4 * (1 - LANDLORDS_LIVING_HERE)))
        target = self.layout.size.people
        self.landlord_start = self.resident_count
        self.landlord_count = nonresident_landlords
        self.former_start = self.landlord_start + nonresident_landlords
        self.former_count = max(0, target - self.former_start)
        self.person_count = self.former_start + self.former_count

        owner_person = np.full(count, -1, dtype=np.int64)
        owner_occupied = self.occupancy == "owner_occupied"
        firsts = np.flatnonzero(first_in_dwelling)
        owner_person[self.resident_dwelling[firsts]] = np.where(
            owner_occupied[self.resident_dwelling[firsts]], firsts, -1
        )
        owner_occupiers = np.flatnonzero(owner_occupied)
        resident_landlords = (
            owner_person[
                rng.choice(owner_occupiers, size=max(1, int(nonresident_landlords * 0.43)))
            ]
            if len(owner_occupiers)
            else np.empty(0, dtype=np.int64)
        )
        pool = np.concatenate(
            [np.arange(self.landlord_start, self.former_start), resident_landlords]
        )
        owner_person[let_out] = pool[rng.integers(0, len(pool), size=landlord_needed)]
        self.owner_person = owner_person

    # -- people ----------------------------------------------------------------------------

    def _ages(self, adults: np.ndarray) -> np.ndarray:
        """Ages of a city population; heads of household and landlords are adults.

        Out-of-range draws are redrawn, not clipped: clipping would pile thousands of people
        onto one birth date, more than the ID number's three sequence digits can hold.
        """
        rng = self.rng
        ages = rng.normal(38, 17, size=len(adults))
        too_young = adults & (ages < 22)
        ages[too_young] = rng.uniform(22, 60, int(too_young.sum()))
        infants = ages < 0.3
        ages[infants] = rng.uniform(0.3, 14, int(infants.sum()))
        very_old = ages > 95
        ages[very_old] = rng.uniform(75, 95, int(very_old.sum()))
        return ages

    def _people(self) -> TableData:
        rng, count = self.rng, self.person_count
        adults = np.zeros(count, dtype=bool)
        adults[np.flatnonzero(self.first_in_dwelling)] = True
        adults[self.landlord_start : self.former_start] = True
        ages = self._ages(adults)
        days = (ages * 365.25).astype(np.int64).astype("timedelta64[D]")
        births = self.today - days
        self.names = draw_names(rng, count)
        passport = rng.random(count) < 0.01
        documents = np.array(identifiers.resident_ids(rng, births), dtype=object)
        documents[passport] = identifiers.passports(rng, int(passport.sum()))
        document_type = np.where(passport, "passport", "resident_id")
        ciphertexts, indexes = [], []
        encrypt, blind_index = self.cipher.encrypt, self.cipher.blind_index
        for kind, number in zip(document_type.tolist(), documents.tolist()):
            ciphertexts.append(encrypt(number))
            indexes.append(blind_index(kind, number))
        phones = np.array(identifiers.phone_numbers(rng, count), dtype=object)
        phones[(ages < 14) | (rng.random(count) < 0.05)] = NULL
        self.documents = documents
        return self._table(
            "person",
            {
                "id": self._ref("person", np.arange(count)),
                "name": self.names,
                "document_type": document_type.tolist(),
                "document_ciphertext": bytea_column(ciphertexts),
                "document_index": bytea_column(indexes),
                "phone": phones.tolist(),
                "birth_date": iso_dates(births),
            },
        )

    # -- addresses, organisations, dwellings --------------------------------------------

    def _area_prefixes(self) -> list[str]:
        layout = self.layout
        return [
            layout.district.name + layout.sub_districts[c.sub_district_idx].name + c.name
            for c in layout.communities
        ]

    def _addresses(self) -> TableData:
        layout, buildings = self.layout, self.layout.buildings
        prefixes = self._area_prefixes()
        road_names = [r.name for r in layout.roads]
        community_codes = [c.code for c in layout.communities]
        b_count, d_count = self.building_count, self.dwelling_count
        b_comm = buildings.community_idx.tolist()
        b_road = buildings.road_idx.tolist()
        b_door = buildings.door_number.astype(str).tolist()
        b_no = buildings.building_no.astype(str).tolist()
        points = ewkb_hex(shapely.points(buildings.lon, buildings.lat))

        ids = self._ids("address", np.arange(b_count + d_count))
        d_b = self.dwelling_building.tolist()
        entrance = self.entrance.astype(str).tolist()
        room = self.room_no.astype(str).tolist()
        full_text = [
            address_full_text(prefixes[b_comm[b]], road_names[b_road[b]], b_door[b], b_no[b])
            for b in range(b_count)
        ] + [
            address_full_text(
                prefixes[b_comm[b]],
                road_names[b_road[b]],
                b_door[b],
                b_no[b],
                entrance[i],
                None,
                room[i],
            )
            for i, b in enumerate(d_b)
        ]
        communities = b_comm + [b_comm[b] for b in d_b]
        return self._table(
            "address",
            {
                "id": ints(ids),
                "code": [f"{community_codes[c]}{i:08d}" for c, i in zip(communities, ids.tolist())],
                "community_id": self._ref("community", communities),
                "road_id": self._ref("road", b_road + [b_road[b] for b in d_b]),
                "parent_id": [NULL] * b_count + self._ref("address", d_b),
                "door_number": b_door + [b_door[b] for b in d_b],
                "building": b_no + [b_no[b] for b in d_b],
                "entrance": [NULL] * b_count + entrance,
                "floor": [NULL] * b_count + self.floor.astype(str).tolist(),
                "room": [NULL] * b_count + room,
                "full_text": full_text,
                "geom": points + [points[b] for b in d_b],
            },
        )

    def _organisations(self) -> TableData:
        rng = self.rng
        count = max(5, self.dwelling_count // 40)
        kinds = rng.choice(
            np.array(["company", "individual_business", "shop", "school", "clinic", "other"]),
            size=count,
            p=[0.38, 0.3, 0.2, 0.03, 0.04, 0.05],
        )
        suffix = {
            "company": "商贸有限公司",
            "individual_business": "餐饮店",
            "shop": "便利店",
            "school": "培训学校",
            "clinic": "诊所",
            "other": "服务部",
        }
        stems = draw_names(rng, count)
        return self._table(
            "organisation",
            {
                "id": self._ref("organisation", np.arange(count)),
                "credit_code": identifiers.credit_codes(rng, count, self.layout.district.code),
                "name": [f"武汉{stem[1:]}{suffix[k]}" for stem, k in zip(stems, kinds.tolist())],
                "kind": kinds.tolist(),
                "address_id": self._ref(
                    "address", rng.integers(0, self.building_count, size=count)
                ),
                "legal_representative": draw_names(rng, count),
                "employee_count": ints(np.round(rng.lognormal(1.8, 1.0, size=count))),
            },
        )

    def _dwellings(self) -> TableData:
        count = self.dwelling_count
        return self._table(
            "dwelling",
            {
                "id": self._ref("dwelling", np.arange(count)),
                "address_id": self._ref("address", np.arange(count) + self.building_count),
                "use": self.use.tolist(),
                "floor_area": np.char.mod("%.2f", self.floor_area).tolist(),
                "rooms": ints(self.rooms),
                "owner_person_id": self._ref("person", self.owner_person),
                "occupancy": self.occupancy.tolist(),
            },
        )

    # -- residences ---------------------------------------------------------------------

    def _residences(self) -> TableData:
        rng = self.rng
        dwelling = self.resident_dwelling
        occupancy = self.occupancy[dwelling]
        first = self.first_in_dwelling
        owner_home = occupancy == "owner_occupied"
        rented = occupancy == "rented"
        packed = self.overcrowded[dwelling]
        relationship = np.select(
            [owner_home & first, owner_home, packed, rented & first, rented],
            ["owner", "owner_family", "tenant", "tenant", "tenant_family"],
            default="other",
        )
        registered_share = np.where(owner_home, 0.9, np.where(rented, 0.15, 0.1))
        kind = np.where(rng.random(len(dwelling)) < registered_share, "registered", "transient")
        years_ago = np.where(
            owner_home, rng.uniform(0, 15, len(dwelling)), rng.uniform(0, 3, len(dwelling))
        )
        # A packed flat usually filled up recently: the "sharp rise" a rule looks for.
        recent = packed & (rng.random(len(dwelling)) < 0.6)
        days_ago = np.where(
            recent, rng.integers(1, 21, len(dwelling)), (years_ago * 365).astype(np.int64)
        )
        moved_in = self.today - days_ago.astype("timedelta64[D]")
        self.resident_moved_in = moved_in
        self.resident_relationship = relationship

        former = np.arange(self.former_start, self.person_count)
        former_dwelling = rng.integers(0, self.dwelling_count, size=len(former))
        former_in = self.today - rng.integers(400, 3000, len(former)).astype("timedelta64[D]")
        former_out = former_in + rng.integers(60, 390, len(former)).astype("timedelta64[D]")
        total = self.resident_count + len(former)
        return self._table(
            "residence",
            {
                "id": self._ref("residence", np.arange(total)),
                "person_id": self._ref(
                    "person", np.concatenate([np.arange(self.resident_count), former])
                ),
                "dwelling_id": self._ref("dwelling", np.concatenate([dwelling, former_dwelling])),
                "moved_in": iso_dates(np.concatenate([moved_in, former_in])),
                "moved_out": [NULL] * self.resident_count + iso_dates(former_out),
                "kind": kind.tolist() + ["transient"] * len(former),
                "relationship": relationship.tolist() + ["tenant"] * len(former),
            },
        )

    # -- lease filings and the two pledges ----------------------------------------------

    def _leases(self) -> Iterator[TableData]:
        rng = self.rng
        rented = np.flatnonzero(self.occupancy == "rented")
        state = rng.choice(
            np.array(list(FILING_SHARES)), size=len(rented), p=list(FILING_SHARES.values())
        )
        # Packed flats are filed less often: the organiser avoids paperwork.
        packed = self.overcrowded[rented]
        state[packed & (rng.random(len(rented)) < 0.5)] = "none"
        filed = state != "none"
        dwellings = rented[filed]
        state = state[filed]
        count = len(dwellings)
        years = np.where(rng.random(count) < 0.8, 1, 2)
        current_start = self.today - rng.integers(0, 330, count).astype("timedelta64[D]")
        expired_end = self.today - rng.integers(1, 200, count).astype("timedelta64[D]")
        starts = np.where(
            state == "current",
            current_start,
            expired_end - (365 * years).astype("timedelta64[D]"),
        )
        ends = term_ends(starts, years)
        rent = np.round(self.floor_area[dwellings] * rng.uniform(25, 45, count), -1)
        landlord = self.owner_person[dwellings]
        ids = self._ids("lease_filing", np.arange(count))
        district = self.layout.district.code
        yield self._table(
            "lease_filing",
            {
                "id": ints(ids),
                "filing_number": [f"{district}-{i:08d}" for i in ids.tolist()],
                "dwelling_id": self._ref("dwelling", dwellings),
                "landlord_person_id": self._ref("person", landlord),
                "starts_on": iso_dates(starts),
                "ends_on": iso_dates(ends),
                "monthly_rent": np.char.mod("%.2f", rent).tolist(),
                "status": ["filed"] * count,
            },
        )
        yield self._lease_tenants(dwellings, starts)
        yield from self._pledges(ids, landlord, starts)

    def _lease_tenants(self, lease_dwellings: np.ndarray, starts: np.ndarray) -> TableData:
        """The first two tenants living in each filed dwelling are named on its lease."""
        lease_of_dwelling = np.full(self.dwelling_count, -1, dtype=np.int64)
        lease_of_dwelling[lease_dwellings] = np.arange(len(lease_dwellings))
        residents = np.arange(self.resident_count)
        lease = lease_of_dwelling[self.resident_dwelling]
        order_in_dwelling = residents - np.maximum.accumulate(
            np.where(self.first_in_dwelling, residents, 0)
        )
        named = (lease >= 0) & (self.resident_relationship == "tenant") & (order_in_dwelling < 2)
        tenant = residents[named]
        return self._table(
            "lease_tenant",
            {
                "id": self._ref("lease_tenant", np.arange(len(tenant))),
                "lease_filing_id": self._ref("lease_filing", lease[named]),
                "person_id": self._ref("person", tenant),
                "added_on": iso_dates(starts[lease[named]]),
            },
        )

    def _pledges(self, leases: np.ndarray, landlord: np.ndarray, starts: np.ndarray):
        rng = self.rng
        names = np.array(self.names, dtype=object)
        for table, document_id, share in (
            ("rental_pledge", 1, RENTAL_PLEDGE_SHARE),
            ("security_guarantee", 2, SECURITY_GUARANTEE_SHARE),
        ):
            signed = rng.random(len(leases)) < share
            chosen = leases[signed]
            yield self._table(
                table,
                {
                    "id": self._ref(table, np.arange(len(chosen))),
                    "lease_filing_id": ints(chosen),
                    "pledge_document_id": self._ref(
                        "pledge_document", np.full(len(chosen), document_id - 1)
                    ),
                    "signer_person_id": self._ref("person", landlord[signed]),
                    "signer_name": names[landlord[signed]].tolist(),
                    "signed_at": [f"{d} 10:00:00+08" for d in iso_dates(starts[signed])],
                },
            )

    # -- accounts and focus areas ---------------------------------------------------------

    def _accounts(self) -> Iterator[TableData]:
        layout = self.layout
        accounts = demo_accounts(layout)
        # One hash shared by all demo accounts: they share one published password anyway,
        # and hashing thousands of grid workers' passwords would dominate the load.
        password_hash = hash_password(DEMO_PASSWORD)
        yield self._table(
            "user_account",
            {
                "id": self._ref("user_account", np.arange(len(accounts))),
                "username": [a.username for a in accounts],
                "display_name": [a.display_name for a in accounts],
                "password_hash": [password_hash] * len(accounts),
                "role": [a.role for a in accounts],
                "police_station_id": [
                    NULL if a.station is None else self._ref("police_station", [a.station])[0]
                    for a in accounts
                ],
            },
        )
        ordinal = {a.username: position for position, a in enumerate(accounts)}
        cells = len(layout.cells)
        yield self._table(
            "grid_cell_worker",
            {
                "grid_cell_id": self._ref("grid_cell", np.arange(cells)),
                "user_id": self._ref(
                    "user_account", [ordinal[grid_worker_name(i)] for i in range(cells)]
                ),
            },
        )
        self.worker_ordinals = np.array([ordinal[grid_worker_name(i)] for i in range(cells)])
        managers = [ordinal[a.username] for a in accounts if a.kind == "property manager"]
        yield self._managed_dwellings(managers, ordinal[LANDLORD])
        yield from self._sweep_team(ordinal)
        self.counts.logins = login_summary(accounts)

    def _sweep_team(self, ordinal: dict[str, int]) -> Iterator[TableData]:
        """The first station's joint team: its officer, a market-regulation and a housing
        officer (the "sweep team member" accounts)."""
        yield self._table(
            "sweep_team",
            {
                "id": self._ref("sweep_team", [0]),
                "name": ["一号专班"],
                "police_station_id": self._ref("police_station", [0]),
            },
        )
        yield self._table(
            "sweep_team_member",
            {
                "team_id": self._ref("sweep_team", [0] * len(SWEEP_TEAM)),
                "user_id": self._ref("user_account", [ordinal[name] for name, _ in SWEEP_TEAM]),
                "function": [function for _, function in SWEEP_TEAM],
            },
        )

    def _managed_dwellings(self, managers: list[int], landlord: int) -> TableData:
        """Each property manager runs two buildings of one community; the landlord their flats."""
        users, dwellings = [], []
        community = self.layout.buildings.community_idx
        for i, manager in enumerate(managers):
            buildings = np.flatnonzero(community == i)[:2]
            managed = np.flatnonzero(np.isin(self.dwelling_building, buildings))
            users.append(np.full(len(managed), manager))
            dwellings.append(managed)
        rented = self.occupancy == "rented"
        owners, counts = np.unique(self.owner_person[rented], return_counts=True)
        busiest = owners[np.argmax(counts)]
        own = np.flatnonzero(self.owner_person == busiest)
        users.append(np.full(len(own), landlord))
        dwellings.append(own)
        user_ordinals = np.concatenate(users)
        dwelling_ordinals = np.concatenate(dwellings)
        pairs = np.unique(np.stack([user_ordinals, dwelling_ordinals], axis=1), axis=0)
        return self._table(
            "managed_dwelling",
            {
                "user_id": self._ref("user_account", pairs[:, 0]),
                "dwelling_id": self._ref("dwelling", pairs[:, 1]),
            },
        )

    # -- what people reported: tips and complaints, visit findings ------------------------

    def _reports(self) -> Iterator[TableData]:
        """Tips about packed flats (and a few others, and whole buildings) and what grid
        workers saw on their visits, recorded by the cell's grid worker in recent weeks."""
        rng, today = self.rng, self.today
        count = self.dwelling_count
        cell_of_building = self.layout.buildings.cell_idx
        tipped = np.flatnonzero(
            (self.overcrowded & (rng.random(count) < 0.25)) | (rng.random(count) < 0.004)
        )
        buildings = np.flatnonzero(rng.random(self.building_count) < 0.01)
        places = len(tipped) + len(buildings)
        building_of = np.concatenate([self.dwelling_building[tipped], buildings])
        named = rng.random(places) < 0.4
        names = draw_names(rng, places)
        phones = identifiers.phone_numbers(rng, places)
        texts = np.array(TIP_TEXTS, dtype=object)[rng.integers(0, len(TIP_TEXTS), size=places)]
        yield self._table(
            "tip",
            {
                "id": self._ref("tip", np.arange(places)),
                "address_id": self._ref(
                    "address", np.concatenate([tipped + self.building_count, buildings])
                ),
                "dwelling_id": self._ref("dwelling", tipped) + [NULL] * len(buildings),
                "kind": rng.choice(np.array(["tip", "complaint"]), size=places).tolist(),
                "source": rng.choice(
                    np.array(["hotline", "walk_in", "online", "door_to_door", "letter"]),
                    size=places,
                    p=[0.45, 0.15, 0.25, 0.1, 0.05],
                ).tolist(),
                "text": text_column(texts.tolist()),
                "tipster_name": [n if k else NULL for n, k in zip(names, named.tolist())],
                "tipster_phone": [p if k else NULL for p, k in zip(phones, named.tolist())],
                "received_on": iso_dates(today - rng.integers(1, 80, size=places)),
                "recorded_by_id": self._ref(
                    "user_account", self.worker_ordinals[cell_of_building[building_of]]
                ),
            },
        )
        seen = np.flatnonzero(self.overcrowded & (rng.random(count) < 0.15))
        seen_cells = cell_of_building[self.dwelling_building[seen]]
        finding = rng.choice(
            np.array(["unregistered_occupants", "group_renting_signs"]), size=len(seen)
        )
        people = np.where(
            finding == "unregistered_occupants", 1 + rng.poisson(2, size=len(seen)), 0
        )
        yield self._table(
            "visit_report",
            {
                "id": self._ref("visit_report", np.arange(len(seen))),
                "dwelling_id": self._ref("dwelling", seen),
                "finding": finding.tolist(),
                "people": [str(p) if p else NULL for p in people.tolist()],
                "note": text_column(
                    np.where(finding == "group_renting_signs", "屋内多张上下铺，门口鞋子很多", "")
                ),
                "observed_on": iso_dates(today - rng.integers(1, 40, size=len(seen))),
                "recorded_by_id": self._ref("user_account", self.worker_ordinals[seen_cells]),
            },
        )

    def _focus_areas(self) -> Iterator[TableData]:
        """Per sub-district, the three cells with the most packed flats become a focus area."""
        layout = self.layout
        cell_of_dwelling = layout.buildings.cell_idx[self.dwelling_building]
        packed_per_cell = np.bincount(
            cell_of_dwelling[self.overcrowded], minlength=len(layout.cells)
        )
        sub_of_cell = np.array(
            [layout.communities[c.community_idx].sub_district_idx for c in layout.cells]
        )
        names, members = [], []
        for s, sub in enumerate(layout.sub_districts):
            cells = np.flatnonzero(sub_of_cell == s)
            if len(cells) == 0:
                continue
            top = cells[np.argsort(-packed_per_cell[cells], kind="stable")[:3]]
            names.append(f"{sub.name}重点区域")
            members.append(top)
        yield self._table(
            "focus_area",
            {
                "id": self._ref("focus_area", np.arange(len(names))),
                "district_id": self._ref("district", np.zeros(len(names))),
                "name": names,
                "description": ["群租和未备案出租房屋较集中的网格"] * len(names),
            },
        )
        areas = np.concatenate([np.full(len(m), i) for i, m in enumerate(members)])
        yield self._table(
            "focus_area_cell",
            {
                "focus_area_id": self._ref("focus_area", areas),
                "grid_cell_id": self._ref("grid_cell", np.concatenate(members)),
            },
        )
