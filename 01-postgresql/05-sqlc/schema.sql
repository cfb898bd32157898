-- A product catalogue: a category tree, products, and daily sales.
CREATE TABLE categories (
    id        bigint PRIMARY KEY,
    parent_id bigint REFERENCES categories (id),
    name      text   NOT NULL UNIQUE
);

CREATE TABLE products (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    category_id bigint NOT NULL REFERENCES categories (id),
    name        text   NOT NULL,
    price_cents bigint NOT NULL CHECK (price_cents > 0)
);
CREATE INDEX products_name_id ON products (name, id);

CREATE TABLE sales (
    product_id   bigint NOT NULL REFERENCES products (id),
    sold_on      date   NOT NULL,
    quantity     int    NOT NULL CHECK (quantity > 0),
    amount_cents bigint NOT NULL
);
CREATE INDEX sales_product_day ON sales (product_id, sold_on);
