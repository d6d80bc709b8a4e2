from fastapi.testclient import TestClient


def test_demo_has_96_services(demo_client: TestClient) -> None:
    response = demo_client.get("/api/v1/services", params={"per_page": 100})
    assert response.status_code == 200
    assert response.json()["total"] == 96
